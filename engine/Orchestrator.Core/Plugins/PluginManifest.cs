using System.Text.Json;
using System.Text.Json.Serialization;
using Serilog;

namespace Orchestrator.Core.Plugins;

/// <summary>
/// What each plugin file provided when it last loaded cleanly (<c>&lt;store&gt;/cache/plugins.json</c>), so that the
/// host can register a plugin's agent kinds and strategy names without loading it, and load it only when a run first
/// asks for one of them. An entry counts only for the same file (path, size, time written) and the same engine build;
/// anything else, or a manifest that does not read, means loading the plugin as if there were no manifest.
/// </summary>
internal sealed class PluginManifest
{
    private readonly string _path;
    private readonly string _engine;
    private readonly Dictionary<string, Entry> _entries;
    private readonly ILogger _log;
    private bool _changed;

    private PluginManifest(string path, string engine, Dictionary<string, Entry> entries, ILogger log)
    {
        _path = path;
        _engine = engine;
        _entries = entries;
        _log = log;
    }

    /// <summary>The engine build the entries were written by: a new build may judge plugins differently.</summary>
    internal static string EngineBuild { get; } = typeof(PluginManifest).Assembly.ManifestModule.ModuleVersionId.ToString("N");

    public static PluginManifest Open(string path, ILogger log)
    {
        var engine = EngineBuild;
        try
        {
            if (File.Exists(path))
            {
                var document = JsonSerializer.Deserialize(File.ReadAllBytes(path), ManifestJsonContext.Default.Document);
                if (document is { Entries: { } entries } && document.Engine == engine)
                {
                    return new PluginManifest(path, engine, entries.ToDictionary(e => e.Path, StringComparer.Ordinal), log);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            // Only a cache: a manifest that cannot be read is rebuilt from the plugins themselves.
            log.Debug("Plugin manifest {Path} not used: {Error}", path, ex.Message);
        }

        return new PluginManifest(path, engine, new Dictionary<string, Entry>(StringComparer.Ordinal), log) { _changed = true };
    }

    /// <summary>What the plugin at <paramref name="path"/> provided, if the manifest knows this very file.</summary>
    public Entry? Find(string path) =>
        _entries.TryGetValue(path, out var entry) && Stamp.Of(path) == entry.Stamp ? entry : null;

    /// <summary>Records what a plugin provided after it loaded without errors.</summary>
    public void Record(string path, string version, IEnumerable<PluginInfo> provided)
    {
        _entries[path] = new Entry(path, Stamp.Of(path), version, [.. provided.Select(p => new Provided(p.Type, p.Name))]);
        _changed = true;
    }

    /// <summary>Forgets a plugin that no longer loads cleanly or is gone.</summary>
    public void Forget(string path) => _changed |= _entries.Remove(path);

    /// <summary>Keeps only the plugins found this time; writes the file if anything changed (atomically, best effort).</summary>
    public void Save(IReadOnlyCollection<string> found)
    {
        foreach (var gone in _entries.Keys.Where(p => !found.Contains(p)).ToList())
        {
            Forget(gone);
        }

        if (!_changed)
        {
            return;
        }

        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            var temporary = _path + "." + Environment.ProcessId + ".tmp";
            File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(new Document(_engine, [.. _entries.Values]), ManifestJsonContext.Default.Document));
            File.Move(temporary, _path, overwrite: true);
            _changed = false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.Debug("Plugin manifest {Path} not written: {Error}", _path, ex.Message);
        }
    }

    internal sealed record Document(string Engine, List<Entry> Entries);

    /// <summary>One plugin file: when it was seen and what it provided.</summary>
    internal sealed record Entry(string Path, Stamp Stamp, string Version, List<Provided> Provides);

    /// <summary>An agent kind (<see cref="PluginInfo.AgentType"/>) or recovery strategy name a plugin provides.</summary>
    internal sealed record Provided(string Type, string Name);

    /// <summary>A file as the manifest recognises it again.</summary>
    internal readonly record struct Stamp(long Length, long WrittenTicks)
    {
        public static Stamp Of(string path)
        {
            var file = new FileInfo(path);
            return file.Exists ? new Stamp(file.Length, file.LastWriteTimeUtc.Ticks) : default;
        }
    }
}

[JsonSerializable(typeof(PluginManifest.Document))]
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
