using System.Reflection;
using System.Runtime.Loader;
using Orchestrator.Abstractions;
using Orchestrator.Core.Provisioning;
using Orchestrator.Core.Workflow;
using Serilog;

namespace Orchestrator.Core.Plugins;

/// <summary>
/// Agents and recovery strategies loaded from plugin DLLs, each assembly in its own (normally unloadable) context
/// so that plugins can bring their own versions of libraries. A broken plugin is recorded in
/// <see cref="Errors"/> and skipped; it never stops the others.
/// </summary>
internal sealed partial class PluginHost : IAgentRegistry, IDisposable
{
    private readonly Dictionary<string, Registered<IAgent>> _agents = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Registered<IRecoveryStrategy>> _strategies = new(StringComparer.OrdinalIgnoreCase);

    // More agents of a kind already provided, from other plugins: replicas to fall back on or redistribute to.
    private readonly Dictionary<string, List<Registered<IAgent>>> _replicas = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, IsolatedAssemblyLoader> _loaders = new(StringComparer.Ordinal);

    // Plugins the manifest knows, registered by name but not loaded until a run first asks for one of their names.
    private readonly Dictionary<string, PluginManifest.Entry> _deferred = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _deferredAgents = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<string>> _deferredStrategies = new(StringComparer.OrdinalIgnoreCase);

    // Where each plugin file was found among all of them: the first found is the primary agent of its kind.
    private readonly Dictionary<string, int> _order = new(StringComparer.Ordinal);

    // Every agent step asks for its providers: built once per kind, dropped whenever registrations change.
    private readonly Dictionary<string, AgentProvider[]> _providers = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<PluginInfo> _plugins = [];
    private readonly List<PluginLoadError> _errors = [];
    private readonly ILogger _log;

    // Taken by every read and by a hot reload, which swaps a plugin's registrations while steps run.
    private readonly Lock _registry = new();
    private bool _disposed;
    private bool _unloadable = true;
    private AgentProfiles _profiles = AgentProfiles.None;

    private PluginHost(ILogger log) => _log = log.ForContext<PluginHost>();

    /// <summary>The host's own plugins folder, where the CLI copies the standard plugins.</summary>
    public static string DefaultDirectory => Path.Combine(AppContext.BaseDirectory, "plugins");

    /// <summary>What loaded, in load order.</summary>
    public IReadOnlyList<PluginInfo> Plugins
    {
        get
        {
            lock (_registry)
            {
                return [.. _plugins];
            }
        }
    }

    /// <summary>What did not, one entry per file or type at fault.</summary>
    public IReadOnlyList<PluginLoadError> Errors => _errors;

    IReadOnlyList<string> IAgentRegistry.LoadErrors => [.. _errors.Select(e => $"{Path.GetFileName(e.Path)}: {e.Message}")];

    public IReadOnlyCollection<string> AgentKinds
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            lock (_registry)
            {
                return [.. _agents.Keys.Union(_deferredAgents.Keys, StringComparer.OrdinalIgnoreCase).Union(_profiles.All.Select(p => p.Name), StringComparer.OrdinalIgnoreCase)];
            }
        }
    }

    /// <summary>Serves the agent profiles of agents.json as kinds of their own; throws <see cref="AgentProfileException"/> for one that does not fit the plugins.</summary>
    public void UseProfiles(AgentProfiles profiles)
    {
        lock (_registry)
        {
            profiles.Validate([.. _agents.Keys.Union(_deferredAgents.Keys, StringComparer.OrdinalIgnoreCase)]);
            _profiles = profiles;
        }
    }

    public IReadOnlyCollection<string> StrategyNames
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            lock (_registry)
            {
                return [.. _strategies.Keys.Union(_deferredStrategies.Keys, StringComparer.OrdinalIgnoreCase)];
            }
        }
    }

    /// <summary>The plugin load contexts, for tests that prove unloading.</summary>
    internal IReadOnlyList<AssemblyLoadContext> LoadContexts
    {
        get
        {
            lock (_registry)
            {
                return [.. _loaders.Values.Select(l => l.LoadContext)];
            }
        }
    }

    /// <summary>
    /// Loads every plugin found in <paramref name="directories"/>, in order; on a name clash the first one wins.
    /// Missing directories are skipped.
    /// </summary>
    /// <param name="watch">Load plugins so that their files can be replaced, and check them before agent steps (<see cref="ReloadChanged"/>).</param>
    /// <param name="manifestPath">
    /// A <see cref="PluginManifest"/> to register known plugins from without loading them (each loads when a run first
    /// asks for one of its agents or strategies) and to update with the others; null to load every plugin now.
    /// Not used with <paramref name="watch"/>, which needs every plugin loaded to notice it change.
    /// </param>
    /// <param name="unloadable">
    /// Load plugins into collectible contexts that <see cref="Dispose"/> unloads: for hosts that load plugins again and
    /// again (a server, tests). A process that runs one workflow and exits passes false, so that the runtime uses
    /// ReadyToRun code in the plugins. Watching makes contexts collectible whatever this says.
    /// </param>
    public static PluginHost Load(IEnumerable<string> directories, ILogger log, bool watch = false, string? manifestPath = null, bool unloadable = true)
    {
        var host = new PluginHost(log) { _watching = watch, _unloadable = unloadable || watch };
        var manifest = watch || manifestPath is null ? null : PluginManifest.Open(manifestPath, host._log);
        foreach (var directory in directories.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal))
        {
            if (!Directory.Exists(directory))
            {
                host._log.Debug("Plugin directory {Directory} does not exist; skipping it", directory);
                continue;
            }

            List<string> candidates;
            try
            {
                candidates = PluginDiscovery.FindCandidates(directory, host._log, host.AddError);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                host.AddError(directory, $"plugin directory {directory} could not be read: {Describe(ex)}");
                continue;
            }

            foreach (var path in candidates)
            {
                host._order.TryAdd(path, host._order.Count);
                if (manifest?.Find(path) is { } known)
                {
                    host.Defer(path, known);
                }
                else
                {
                    host.LoadAndRecord(path, manifest);
                }
            }
        }

        manifest?.Save(host._order.Keys);
        host._log.Debug(
            "Loaded {AgentCount} agents and {StrategyCount} recovery strategies, {DeferredCount} plugins to load when first used; {ErrorCount} plugin errors",
            host._agents.Count, host._strategies.Count, host._deferred.Count, host._errors.Count);
        return host;
    }

    public IAgent? FindAgent(string kind)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_registry)
        {
            if (_profiles.Find(kind) is { } profile)
            {
                return FindAgent(profile.Agent) is { } agent ? _profiles.Wrap(profile, agent) : null;
            }

            LoadDeferred(_deferredAgents, kind);
            return _agents.GetValueOrDefault(kind)?.Instance;
        }
    }

    public IReadOnlyList<AgentProvider> FindProviders(string kind)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_registry)
        {
            if (_providers.TryGetValue(kind, out var cached))
            {
                return cached;
            }

            if (_profiles.Find(kind) is { } profile)
            {
                return _profiles.Wrap(profile, FindProviders(profile.Agent));
            }

            LoadDeferred(_deferredAgents, kind);
            if (!_agents.TryGetValue(kind, out var primary))
            {
                return [];
            }

            return _providers[kind] = [Provider(kind, primary), .. _replicas.GetValueOrDefault(kind, []).Select(r => Provider(kind, r))];
        }
    }

    private static AgentProvider Provider(string kind, Registered<IAgent> entry) =>
        new(kind + "@" + Path.GetFileNameWithoutExtension(entry.Path), entry.Instance, entry.Calls);

    public IRecoveryStrategy? FindStrategy(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_registry)
        {
            LoadDeferred(_deferredStrategies, name);
            return _strategies.GetValueOrDefault(name)?.Instance;
        }
    }

    /// <summary>
    /// Loads every assembly the loaded plugins reference, and what those reference in turn inside the plugin's own
    /// context, as a call would sooner or later: a dependency that is missing or does not load is an error naming it
    /// (a plugin can load and register its agents with a dependency missing, and fail only when called).
    /// </summary>
    public IReadOnlyList<PluginLoadError> CheckDependencies()
    {
        lock (_registry)
        {
            var errors = new List<PluginLoadError>();
            foreach (var (path, loader) in _loaders)
            {
                var seen = new HashSet<string>(StringComparer.Ordinal);
                var pending = new Queue<Assembly>([loader.LoadMainAssembly()]);
                while (pending.TryDequeue(out var assembly))
                {
                    foreach (var reference in assembly.GetReferencedAssemblies().Where(r => seen.Add(r.FullName)))
                    {
                        try
                        {
                            // The framework's own assemblies come from the host; only the plugin's private ones are walked further.
                            var loaded = loader.LoadContext.LoadFromAssemblyName(reference);
                            if (AssemblyLoadContext.GetLoadContext(loaded) == loader.LoadContext)
                            {
                                pending.Enqueue(loaded);
                            }
                        }
                        catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException)
                        {
                            errors.Add(new PluginLoadError(path, $"{Path.GetFileName(path)} needs {reference.Name} {reference.Version}, which could not be loaded: {Describe(ex)}"));
                        }
                    }
                }
            }

            return errors;
        }
    }

    /// <summary>Registers what a plugin provides, from the manifest, without loading it.</summary>
    private void Defer(string path, PluginManifest.Entry entry)
    {
        _deferred[path] = entry;
        foreach (var provided in entry.Provides)
        {
            var names = provided.Type == PluginInfo.AgentType ? _deferredAgents : _deferredStrategies;
            (names.TryGetValue(provided.Name, out var paths) ? paths : names[provided.Name] = []).Add(path);
            _plugins.Add(new PluginInfo(provided.Name, provided.Type, path, entry.Version));
        }
    }

    /// <summary>Loads, in the order they were found, the deferred plugins that provide <paramref name="name"/>. Caller holds the lock.</summary>
    private void LoadDeferred(Dictionary<string, List<string>> names, string name)
    {
        if (names.Count == 0 || !names.Remove(name, out var paths))
        {
            return;
        }

        foreach (var path in paths.OrderBy(p => _order[p]))
        {
            if (!_deferred.Remove(path))
            {
                continue;
            }

            // Loading registers everything the plugin provides, so none of its names is deferred any longer.
            Undefer(_deferredAgents, path);
            Undefer(_deferredStrategies, path);

            _plugins.RemoveAll(p => p.AssemblyPath == path);
            _log.Debug("Loading plugin {Path} on first use of {Name}", path, name);
            LoadAssembly(path);
        }
    }

    private static void Undefer(Dictionary<string, List<string>> names, string path)
    {
        foreach (var (name, paths) in names.ToList())
        {
            if (paths.Remove(path) && paths.Count == 0)
            {
                names.Remove(name);
            }
        }
    }

    /// <summary>Loads a plugin now and tells the manifest what it provided, if it loaded without an error.</summary>
    private void LoadAndRecord(string path, PluginManifest? manifest)
    {
        var errors = _errors.Count;
        LoadAssembly(path);
        if (manifest is null)
        {
            return;
        }

        var provided = _plugins.Where(p => p.AssemblyPath == path).ToList();
        if (_errors.Count == errors && provided.Count > 0)
        {
            manifest.Record(path, provided[0].AssemblyVersion, provided);
        }
        else
        {
            manifest.Forget(path);
        }
    }

    /// <summary>
    /// Disposes the plugin instances and unloads their contexts. Unloading completes only once nothing
    /// holds an agent, strategy or plugin type any more; note that System.ComponentModel.TypeDescriptor
    /// (used by e.g. Newtonsoft.Json to serialize a plugin's own classes) caches types forever, which keeps
    /// such a plugin's context alive until the process ends.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        lock (_registry)
        {
            _disposed = true;
            var instances = _agents.Values.Concat(_replicas.Values.SelectMany(r => r)).Select(a => (a.Path, (object)a.Instance))
                .Concat(_strategies.Values.Select(s => (s.Path, (object)s.Instance)))
                .DistinctBy(i => i.Item2, ReferenceEqualityComparer.Instance)
                .ToList();
            foreach (var (path, instance) in instances)
            {
                DisposeInstance(path, instance);
            }

            // Drop every reference into the contexts, or they can never be collected.
            _agents.Clear();
            _replicas.Clear();
            _strategies.Clear();
            _providers.Clear();
            foreach (var loader in _loaders.Values)
            {
                loader.Dispose();
            }

            _loaders.Clear();
            DisposePrepared();
        }
    }

    private void LoadAssembly(string path)
    {
        var staged = Stage(path);
        foreach (var error in staged.Errors)
        {
            AddError(path, error);
        }

        Commit(path, staged);
    }

    /// <summary>
    /// Loads a plugin file into a context of its own and creates its agents and strategies, registering none of them:
    /// a hot reload checks the result before it replaces the version in use. Every fault is in <see cref="Staged.Errors"/>.
    /// </summary>
    private Staged Stage(string path)
    {
        var staged = new Staged();
        if (PluginDiscovery.CheckContract(path) is { } incompatible)
        {
            staged.Errors.Add(incompatible);
            return staged;
        }

        try
        {
            staged.Loader = TakeLoader(path);
            var assembly = staged.Loader.LoadMainAssembly();
            staged.Version = assembly.GetName().Version?.ToString() ?? "0.0.0.0";
            foreach (var type in CandidateTypes(path, assembly, staged.Errors))
            {
                Create(path, type, staged);
            }
        }
        catch (Exception ex)
        {
            // Missing dependency of the assembly itself, a bad .deps.json, a version the runtime refuses...
            staged.Errors.Add($"{Path.GetFileName(path)} could not be loaded: {Describe(ex)}");
        }

        return staged;
    }

    /// <summary>Registers what <see cref="Stage"/> created; a plugin that provides nothing is unloaded again.</summary>
    private void Commit(string path, Staged staged)
    {
        var registered = 0;
        foreach (var (type, instance) in staged.Instances)
        {
            registered += Register(path, staged.Version, type, instance);
        }

        if (registered == 0)
        {
            if (staged.Errors.Count == 0)
            {
                _log.Warning("Plugin {Path} contributed no agents or recovery strategies; unloading it", path);
            }

            staged.Loader?.Dispose();
            return;
        }

        _loaders[path] = staged.Loader!;
        Stamp(path);
    }

    /// <summary>Public concrete agent and strategy types; types that fail to load are reported, the rest kept.</summary>
    private List<Type> CandidateTypes(string path, Assembly assembly, List<string> errors)
    {
        Type?[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            types = ex.Types;
            var causes = ex.LoaderExceptions.OfType<Exception>().Select(Describe).Distinct().ToList();
            var more = causes.Count > 1 ? $" (and {causes.Count - 1} more)" : "";
            errors.Add($"{Path.GetFileName(path)}: some types could not be loaded: {causes.FirstOrDefault() ?? "unknown cause"}{more}");
        }

        var candidates = new List<Type>();
        foreach (var type in types)
        {
            if (type is null || !type.IsVisible || !type.IsClass || type.IsAbstract || type.ContainsGenericParameters)
            {
                continue;
            }

            if (!typeof(IAgent).IsAssignableFrom(type) && !typeof(IRecoveryStrategy).IsAssignableFrom(type))
            {
                continue;
            }

            if (type.GetConstructor(Type.EmptyTypes) is null)
            {
                _log.Warning("Plugin {Path}: {Type} has no public parameterless constructor; skipping it", path, type.FullName);
                continue;
            }

            candidates.Add(type);
        }

        return candidates;
    }

    /// <summary>Instantiates one type and checks that it names what it provides.</summary>
    private void Create(string path, Type type, Staged staged)
    {
        object instance;
        try
        {
            instance = Activator.CreateInstance(type)!;
            if (instance is IAgent agent && string.IsNullOrWhiteSpace(agent.Kind))
            {
                staged.Errors.Add($"{Path.GetFileName(path)}: {type.FullName} has an empty agent kind");
                DisposeInstance(path, instance);
                return;
            }

            if (instance is IRecoveryStrategy strategy && string.IsNullOrWhiteSpace(strategy.Name))
            {
                staged.Errors.Add($"{Path.GetFileName(path)}: {type.FullName} has an empty recovery strategy");
                DisposeInstance(path, instance);
                return;
            }
        }
        catch (Exception ex)
        {
            var cause = ex is TargetInvocationException { InnerException: { } inner } ? inner : ex;
            staged.Errors.Add($"{Path.GetFileName(path)}: {type.FullName} could not be created: {Describe(cause)}");
            return;
        }

        staged.Instances.Add((type, instance));
    }

    /// <summary>Registers one created instance under its kind or name; returns how many registrations it made.</summary>
    private int Register(string path, string version, Type type, object instance)
    {
        var count = 0;
        if (instance is IAgent agent)
        {
            count += Add(_agents, "agent kind", agent.Kind, new Registered<IAgent>(agent, path, OrderOf(path)), PluginInfo.AgentType, version, type);
        }

        if (instance is IRecoveryStrategy strategy)
        {
            count += Add(_strategies, "recovery strategy", strategy.Name, new Registered<IRecoveryStrategy>(strategy, path, OrderOf(path)), PluginInfo.RecoveryType, version, type);
        }

        if (count == 0)
        {
            DisposeInstance(path, instance);
        }

        return count;
    }

    private int Add<T>(Dictionary<string, Registered<T>> map, string what, string key, Registered<T> entry, string pluginType, string version, Type type)
        where T : class
    {
        if (map.TryGetValue(key, out var existing))
        {
            // The same plugin found twice is a mistake; another plugin offering the same kind of agent is a replica.
            if (entry is not Registered<IAgent> replica || SamePlugin(existing.Path, entry.Path))
            {
                AddError(entry.Path, $"{what} '{key}' from {entry.Path} is ignored: {existing.Path} already provides it");
                return 0;
            }

            // Found earlier than the primary (it loaded later, on first use): it becomes the primary, as if loaded in order.
            var replicas = _replicas.TryGetValue(key, out var list) ? list : _replicas[key] = [];
            if (replica.Order < existing.Order)
            {
                map[key] = entry;
                replica = (Registered<IAgent>)(object)existing;
            }

            replicas.Add(replica);
            replicas.Sort((a, b) => a.Order.CompareTo(b.Order));
        }
        else
        {
            map.Add(key, entry);
        }

        _providers.Clear();

        _plugins.Add(new PluginInfo(key, pluginType, entry.Path, version));
        _log.Debug("Loaded {PluginType} {Name} ({Type}) from {Path}", pluginType, key, type.FullName, entry.Path);
        return 1;
    }

    private static bool SamePlugin(string a, string b) =>
        string.Equals(Path.GetFileName(a), Path.GetFileName(b), StringComparison.OrdinalIgnoreCase);

    private void DisposeInstance(string path, object instance)
    {
        try
        {
            switch (instance)
            {
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
                case IAsyncDisposable asyncDisposable:
                    asyncDisposable.DisposeAsync().AsTask().GetAwaiter().GetResult();
                    break;
            }
        }
        catch (Exception ex)
        {
            // A plugin that fails to clean up must not keep the others loaded.
            _log.Warning("Plugin {Path}: disposing {Type} failed: {Error}", path, instance.GetType().FullName, Describe(ex));
        }
    }

    private void AddError(string path, string message)
    {
        _errors.Add(new PluginLoadError(path, message));
        _log.Error("Plugin {Path} failed to load: {Error}", path, message);
    }

    // Strings only: holding the exception would keep the plugin's types, and so its context, alive.
    private static string Describe(Exception ex) => $"{ex.GetType().Name}: {PluginDiscovery.OneLine(ex.Message)}";

    private int OrderOf(string path) => _order.TryGetValue(path, out var order) ? order : int.MaxValue;

    /// <param name="Order">Where the plugin file was found among all of them.</param>
    private sealed record Registered<T>(T Instance, string Path, int Order)
        where T : class
    {
        /// <summary>The calls in flight on <see cref="Instance"/>: a reload disposes it once they have finished.</summary>
        public AgentCalls Calls { get; } = new();
    }

    /// <summary>What <see cref="Stage"/> made of a plugin file.</summary>
    private sealed class Staged
    {
        public IsolatedAssemblyLoader? Loader { get; set; }

        public string Version { get; set; } = "0.0.0.0";

        public List<(Type Type, object Instance)> Instances { get; } = [];

        public List<string> Errors { get; } = [];
    }
}
