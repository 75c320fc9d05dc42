using Orchestrator.Abstractions;

namespace Orchestrator.Core.Workflow;

/// <summary>Where the engine finds agents and recovery strategies by name.</summary>
internal interface IAgentRegistry
{
    IReadOnlyCollection<string> AgentKinds { get; }

    IReadOnlyCollection<string> StrategyNames { get; }

    IAgent? FindAgent(string kind);

    /// <summary>Every agent of a kind, the primary first: replicas that recovery can redistribute to.</summary>
    IReadOnlyList<AgentProvider> FindProviders(string kind);

    IRecoveryStrategy? FindStrategy(string name);

    /// <summary>Loads again the plugins whose files changed (hot reload); returns what it reloaded, nothing if it does not watch.</summary>
    IReadOnlyList<Plugins.PluginReload> ReloadChanged() => [];

    /// <summary>Why plugins did not load (<c>file: cause</c>), so that a step asking for a missing agent can say so.</summary>
    IReadOnlyList<string> LoadErrors => [];
}

/// <summary>One agent able to serve a kind; <see cref="Id"/> tells replicas apart (<c>llm@LocalModel</c>).</summary>
/// <param name="Calls">Counts the calls in flight on a plugin's agent, so that a hot reload disposes it only after them; null for agents given in code.</param>
internal sealed record AgentProvider(string Id, IAgent Agent, Plugins.AgentCalls? Calls = null);

/// <summary>A registry over agents given in code: tests, benchmarks, embedding. Agents of the same kind are replicas, in order.</summary>
internal sealed class AgentRegistry(IEnumerable<IAgent> agents, IEnumerable<IRecoveryStrategy>? strategies = null) : IAgentRegistry
{
    private readonly Dictionary<string, AgentProvider[]> _providers = agents
        .GroupBy(a => a.Kind, StringComparer.OrdinalIgnoreCase)
        .ToDictionary(g => g.Key, g => g.Select((a, i) => new AgentProvider(i == 0 ? g.Key : $"{g.Key}#{i + 1}", a)).ToArray(), StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, IRecoveryStrategy> _strategies =
        (strategies ?? []).ToDictionary(s => s.Name, StringComparer.OrdinalIgnoreCase);

    public IReadOnlyCollection<string> AgentKinds => _providers.Keys;

    public IReadOnlyCollection<string> StrategyNames => _strategies.Keys;

    public IAgent? FindAgent(string kind) => _providers.GetValueOrDefault(kind)?[0].Agent;

    public IReadOnlyList<AgentProvider> FindProviders(string kind) => _providers.GetValueOrDefault(kind) ?? [];

    public IRecoveryStrategy? FindStrategy(string name) => _strategies.GetValueOrDefault(name);
}
