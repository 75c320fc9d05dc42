using System.Globalization;
using Serilog;

namespace Orchestrator.Core.Plugins;

/// <summary>
/// What each plugin file provided when it last loaded cleanly (<c>&lt;store&gt;/cache/plugins.txt</c>), so that the
/// host can register a plugin's agent kinds and strategy names without loading it, and load it only when a run first
/// asks for one of them. An entry counts only for the same file (path, size, time written) and the same engine build;
/// anything else, or a manifest that does not read, means loading the plugin as if there were no manifest.
/// </summary>
/// <remarks>
/// A line of text per plugin (tab-separated, each field escaped), not JSON: the manifest is read at the start of every
/// run, and the JSON serializer's first use cost more than the plugin loads the manifest saves.
/// </remarks>
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
            if (File.Exists(path) && Parse(File.ReadAllLines(path), engine) is { } entries)
            {
                return new PluginManifest(path, engine, entries, log);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Only a cache: a manifest that cannot be read is rebuilt from the plugins themselves.
            log.Debug("Plugin manifest {Path} not used: {Error}", path, ex.Message);
        }

        return new PluginManifest(path, engine, new Dictionary<string, Entry>(StringComparer.Ordinal), log) { _changed = true };
    }

    /// <summary>The entries, or null for a manifest of another engine build or one that does not parse.</summary>
    private static Dictionary<string, Entry>? Parse(string[] lines, string engine)
    {
        if (lines.Length == 0 || lines[0] != Header + engine)
        {
            return null;
        }

        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(1))
        {
            var fields = line.Split('\t');
            if (fields.Length < 4
                || !long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var length)
                || !long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var written))
            {
                return null;
            }

            var provides = new List<Provided>();
            for (var i = 4; i + 1 < fields.Length; i += 2)
            {
                provides.Add(new Provided(Uri.UnescapeDataString(fields[i]), Uri.UnescapeDataString(fields[i + 1])));
            }

            var path = Uri.UnescapeDataString(fields[0]);
            entries[path] = new Entry(path, new Stamp(length, written), Uri.UnescapeDataString(fields[3]), provides);
        }

        return entries;
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
            File.WriteAllLines(temporary, [Header + _engine, .. _entries.Values.Select(Format)]);
            File.Move(temporary, _path, overwrite: true);
            _changed = false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.Debug("Plugin manifest {Path} not written: {Error}", _path, ex.Message);
        }
    }

    private const string Header = "orchestrator plugin manifest 1 ";

    private static string Format(Entry e) => string.Join(
        '\t',
        [
            Uri.EscapeDataString(e.Path),
            e.Stamp.Length.ToString(CultureInfo.InvariantCulture),
            e.Stamp.WrittenTicks.ToString(CultureInfo.InvariantCulture),
            Uri.EscapeDataString(e.Version),
            .. e.Provides.SelectMany(p => new[] { Uri.EscapeDataString(p.Type), Uri.EscapeDataString(p.Name) }),
        ]);

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
