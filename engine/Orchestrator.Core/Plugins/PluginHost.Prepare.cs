using System.Runtime.Loader;

namespace Orchestrator.Core.Plugins;

internal sealed partial class PluginHost
{
    // Contexts made ahead for deferred plugins (see PrepareFirstDeferred); Lazy so that a plugin first used while its
    // context is being made waits for that one instead of making a second. Guarded by _registry.
    private readonly Dictionary<string, Lazy<IsolatedAssemblyLoader>> _prepared = new(StringComparer.Ordinal);

    /// <summary>
    /// Makes ahead the load context of the first plugin still deferred (reading its .deps.json), without loading its
    /// assembly: for a host with a core to spare while its script starts. Most of what a context costs is the first
    /// one's (the loader's own code run for the first time), which every later one is then spared; the plugin itself
    /// only loads its assembly on first use. A context that cannot be made is reported when its plugin is first used.
    /// </summary>
    public void PrepareFirstDeferred()
    {
        Lazy<IsolatedAssemblyLoader> prepared;
        string path;
        lock (_registry)
        {
            if (_disposed || _deferred.Count == 0)
            {
                return;
            }

            path = _deferred.Keys.MinBy(p => _order[p])!;
            var (inMemory, unloadable) = (_watching, _unloadable);
            prepared = _prepared[path] = new(() => IsolatedAssemblyLoader.Create(path, inMemory, unloadable));
        }

        try
        {
            _ = prepared.Value;
        }
        catch (Exception ex)
        {
            _log.Debug(ex, "Preparing the context of plugin {Path} failed; the error is reported when it is first used", path);
        }

        DisposeIfClosed(prepared);
    }

    /// <summary>The contexts made ahead that no plugin has been loaded into yet.</summary>
    internal IReadOnlyList<AssemblyLoadContext> PreparedContexts
    {
        get
        {
            lock (_registry)
            {
                return [.. _prepared.Values.Where(p => p.IsValueCreated).Select(p => p.Value.LoadContext)];
            }
        }
    }

    /// <summary>The context made ahead for <paramref name="path"/>, or a new one. Caller holds the lock.</summary>
    private IsolatedAssemblyLoader TakeLoader(string path) =>
        _prepared.Remove(path, out var prepared) ? prepared.Value : IsolatedAssemblyLoader.Create(path, inMemory: _watching, unloadable: _unloadable);

    /// <summary>A context finished after the host closed is unloaded here, since Dispose has already run.</summary>
    private void DisposeIfClosed(Lazy<IsolatedAssemblyLoader> prepared)
    {
        lock (_registry)
        {
            if (_disposed && prepared.IsValueCreated)
            {
                prepared.Value.Dispose();
            }
        }
    }

    /// <summary>Unloads the contexts made ahead that no plugin used. Caller holds the lock.</summary>
    private void DisposePrepared()
    {
        foreach (var prepared in _prepared.Values.Where(p => p.IsValueCreated))
        {
            prepared.Value.Dispose();
        }

        _prepared.Clear();
    }
}
