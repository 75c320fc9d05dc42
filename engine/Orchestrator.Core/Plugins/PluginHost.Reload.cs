using System.Text.Json.Nodes;

namespace Orchestrator.Core.Plugins;

/// <summary>A plugin file that changed on disk and was loaded again; <see cref="Error"/> says why the new file was refused (the old version stays).</summary>
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
/// before each agent call the host looks for plugin files whose time or size changed. The new file is loaded and
/// checked first; only a good one replaces the old version, whose agents are disposed once the calls that started on
/// them have finished (its collectible context goes after that). A bad file leaves the old version in use.
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
                reloads.Add(Reload(path));
            }

            return reloads;
        }
    }

    /// <summary>
    /// Loads the new file beside the version in use and checks it (it loads, every type is created, it provides
    /// something); only then does it replace the old version. Otherwise the old version stays. Caller holds the lock.
    /// </summary>
    private PluginReload Reload(string path)
    {
        var old = _plugins.Where(p => p.AssemblyPath == path).ToList();
        var from = old.FirstOrDefault()?.AssemblyVersion;

        // Stamped before it is read, so that a file still being written is tried again once it changes again.
        Stamp(path);
        var staged = Stage(path);
        var error = staged.Errors.FirstOrDefault()
            ?? (staged.Instances.Count == 0 ? $"{Path.GetFileName(path)} provides no agents or recovery strategies" : null);
        if (error is not null)
        {
            foreach (var (_, instance) in staged.Instances)
            {
                DisposeInstance(path, instance);
            }

            staged.Loader?.Dispose();
            _log.Warning("Plugin {Path} was not reloaded; version {Version} stays in use: {Error}", path, from, error);
            return new PluginReload(path, from, null, [.. old.Select(p => p.Name)], error);
        }

        Unload(path);
        Commit(path, staged);
        var now = _plugins.Where(p => p.AssemblyPath == path).ToList();
        _log.Information("Plugin {Path} reloaded: {From} to {To}", path, from, staged.Version);
        return new PluginReload(path, from, staged.Version, [.. now.Select(p => p.Name)], null);
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
            entry.Calls.Retire(() => DisposeInstance(path, entry.Instance));

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
                replica.Calls.Retire(() => DisposeInstance(path, replica.Instance));
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
