using System.Text.Json.Nodes;

namespace Orchestrator.Core.Plugins;

/// <summary>A plugin file that changed on disk and was loaded again; <see cref="Error"/> says why it no longer loads, if it does not.</summary>
internal sealed record PluginReload(string Path, string? FromVersion, string? ToVersion, IReadOnlyList<string> Provides, string? Error)
{
    public JsonObject ToJson() => new()
    {
        ["path"] = Path,
        ["from"] = FromVersion,
        ["to"] = ToVersion,
        ["provides"] = new JsonArray([.. Provides.Select(p => JsonValue.Create(p))]),
        ["error"] = Error,
    };
}

/// <summary>
/// Hot reload (<c>--watch-plugins</c>): plugins are loaded from memory so that their files can be replaced, and
/// before an agent step the host looks for plugin files whose time or size changed; each one is unloaded (its
/// collectible context goes once the steps still using it finish) and loaded again from the new file.
/// </summary>
internal sealed partial class PluginHost
{
    private readonly Dictionary<string, (DateTime Written, long Length)> _stamps = new(StringComparer.Ordinal);
    private bool _watching;

    public IReadOnlyList<PluginReload> ReloadChanged()
    {
        if (!_watching || _disposed)
        {
            return [];
        }

        lock (_registry)
        {
            var changed = _stamps.Where(s => File.Exists(s.Key) && Read(s.Key) != s.Value).Select(s => s.Key).ToList();
            var reloads = new List<PluginReload>(changed.Count);
            foreach (var path in changed)
            {
                var from = _plugins.FirstOrDefault(p => p.AssemblyPath == path)?.AssemblyVersion;
                var errors = _errors.Count;
                Unload(path);
                LoadAssembly(path);

                // Stamped even when the new file does not load, so that it is tried again only once it changes again.
                Stamp(path);
                var now = _plugins.Where(p => p.AssemblyPath == path).ToList();
                var error = _errors.Count > errors ? _errors[^1].Message : null;
                _log.Information("Plugin {Path} reloaded: {From} to {To}", path, from, now.FirstOrDefault()?.AssemblyVersion);
                reloads.Add(new PluginReload(path, from, now.FirstOrDefault()?.AssemblyVersion, [.. now.Select(p => p.Name)], error));
            }

            return reloads;
        }
    }

    private void Stamp(string path) => _stamps[path] = Read(path);

    private static (DateTime, long) Read(string path)
    {
        var file = new FileInfo(path);
        return (file.LastWriteTimeUtc, file.Length);
    }

    /// <summary>Drops everything the plugin at <paramref name="path"/> registered and starts unloading its context.</summary>
    private void Unload(string path)
    {
        foreach (var (kind, entry) in _agents.Where(a => a.Value.Path == path).ToList())
        {
            DisposeInstance(path, entry.Instance);

            // A replica from another plugin takes the kind over.
            if (_replicas.TryGetValue(kind, out var replicas) && replicas.Count > 0)
            {
                _agents[kind] = replicas[0];
                replicas.RemoveAt(0);
            }
            else
            {
                _agents.Remove(kind);
            }
        }

        foreach (var replicas in _replicas.Values)
        {
            foreach (var replica in replicas.Where(r => r.Path == path).ToList())
            {
                DisposeInstance(path, replica.Instance);
                replicas.Remove(replica);
            }
        }

        foreach (var (name, entry) in _strategies.Where(s => s.Value.Path == path).ToList())
        {
            DisposeInstance(path, entry.Instance);
            _strategies.Remove(name);
        }

        _plugins.RemoveAll(p => p.AssemblyPath == path);
        _providers.Clear();
        if (_loaders.Remove(path, out var loader))
        {
            loader.Dispose();
        }
    }
}
