using System.Runtime.Loader;

namespace Orchestrator.Core.Plugins;

internal sealed partial class PluginHost
{
    // The context made ahead (see PrepareFirstDeferred); Lazy so that the plugin, if first used while its context is
    // being made, waits for that one instead of making a second. Guarded by _registry.
    private (string Path, Lazy<IsolatedAssemblyLoader> Loader)? _prepared;

    /// <summary>
    /// Makes ahead the load context of the first plugin still deferred (reading its .deps.json), without loading its
    /// assembly: for a host with a core to spare while its script starts. Most of what a context costs is the first
    /// one's (the loader's own code run for the first time), which every later one is then spared; the plugin itself
    /// only loads its assembly on first use. A context that cannot be made is reported when its plugin is first used.
    /// </summary>
    public void PrepareFirstDeferred()
    {
        Lazy<IsolatedAssemblyLoader> loader;
        string path;
        lock (_registry)
        {
            if (_disposed || _prepared is not null || _deferred.Count == 0)
            {
                return;
            }

            path = _deferred.Keys.MinBy(p => _order[p])!;
            loader = new(() => NewLoader(path));
            _prepared = (path, loader);
        }

        try
        {
            _ = loader.Value;
        }
        catch (Exception ex)
        {
            _log.Debug(ex, "Preparing the context of plugin {Path} failed; the error is reported when it is first used", path);
        }

        lock (_registry)
        {
            // Made after the host closed: Dispose has run already, so it is unloaded here.
            if (_disposed && loader.IsValueCreated)
            {
                loader.Value.Dispose();
            }
        }
    }

    /// <summary>The context made ahead that no plugin has been loaded into yet, if any.</summary>
    internal AssemblyLoadContext? PreparedContext
    {
        get
        {
            lock (_registry)
            {
                return _prepared is { Loader.IsValueCreated: true } prepared ? prepared.Loader.Value.LoadContext : null;
            }
        }
    }

    /// <summary>The context made ahead for <paramref name="path"/>, or a new one. Caller holds the lock.</summary>
    private IsolatedAssemblyLoader TakeLoader(string path)
    {
        if (_prepared is { } prepared && prepared.Path == path)
        {
            _prepared = null;
            return prepared.Loader.Value;
        }

        return NewLoader(path);
    }

    private IsolatedAssemblyLoader NewLoader(string path) => IsolatedAssemblyLoader.Create(path, inMemory: _watching, unloadable: _unloadable);

    /// <summary>Unloads the context made ahead if no plugin used it. Caller holds the lock.</summary>
    private void DisposePrepared()
    {
        if (_prepared is { Loader.IsValueCreated: true } prepared)
        {
            prepared.Loader.Value.Dispose();
        }

        _prepared = null;
    }
}
