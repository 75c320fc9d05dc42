using System.Reflection;
using System.Runtime.Loader;
using McMaster.NETCore.Plugins;
using Orchestrator.Abstractions;

namespace Orchestrator.Core.Plugins;

/// <summary>
/// The only place that knows McMaster.NETCore.Plugins (a one-maintainer library), so that it can be
/// replaced by a hand-written <see cref="AssemblyLoadContext"/> without touching the host.
/// </summary>
internal sealed class IsolatedAssemblyLoader : IDisposable
{
    // The whole contract: these types must be the host's own, or IAgent in a plugin would be a different type.
    private static readonly Type[] ContractTypes =
    [
        typeof(IAgent), typeof(IRecoveryStrategy), typeof(AgentTask), typeof(AgentResult), typeof(Severity), typeof(RecoveryContext), typeof(AgentMessage),
    ];

    private readonly PluginLoader _loader;

    private IsolatedAssemblyLoader(PluginLoader loader) => _loader = loader;

    /// <summary>The context the plugin and its private dependencies live in.</summary>
    public AssemblyLoadContext LoadContext => _loader.LoadContext;

    /// <summary>
    /// Makes a context for the assembly at <paramref name="assemblyPath"/>, resolving its dependencies from its own
    /// folder (and its .deps.json) first.
    /// </summary>
    /// <param name="inMemory">Read the assemblies into memory instead of mapping their files, so the files can be replaced (hot reload).</param>
    /// <param name="unloadable">
    /// A collectible context, unloaded on <see cref="Dispose"/>. The runtime ignores ReadyToRun code in collectible
    /// contexts and jits everything, so a host that never unloads (one run per process) asks for a plain one.
    /// </param>
    public static IsolatedAssemblyLoader Create(string assemblyPath, bool inMemory = false, bool unloadable = true) =>
        // Only the contract comes from the host. PreferSharedTypes stays false: when true, McMaster takes
        // ANY assembly the host can resolve from the host (e.g. the host's Newtonsoft.Json 13 for a plugin
        // built against 12), which defeats per-plugin dependency versions.
        new(PluginLoader.CreateFromAssemblyFile(assemblyPath, isUnloadable: unloadable || inMemory, ContractTypes, c =>
        {
            c.PreferSharedTypes = false;
            c.LoadInMemory = inMemory;
        }));

    public Assembly LoadMainAssembly() => _loader.LoadDefaultAssembly();

    /// <summary>Starts unloading a collectible context (it is collected once nothing references its types); nothing for a plain one.</summary>
    public void Dispose() => _loader.Dispose();
}
