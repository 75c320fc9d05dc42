using Orchestrator.Abstractions;

namespace Orchestrator.Core.Workflow;

/// <summary>Where the engine finds agents and recovery strategies by name.</summary>
internal interface IAgentRegistry
{
    IReadOnlyCollection<string> AgentKinds { get; }

    IReadOnlyCollection<string> StrategyNames { get; }

    IAgent? FindAgent(string kind);

    IRecoveryStrategy? FindStrategy(string name);
}

/// <summary>A registry over agents given in code: tests, benchmarks, embedding.</summary>
internal sealed class AgentRegistry(IEnumerable<IAgent> agents, IEnumerable<IRecoveryStrategy>? strategies = null) : IAgentRegistry
{
    private readonly Dictionary<string, IAgent> _agents = agents.ToDictionary(a => a.Kind, StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, IRecoveryStrategy> _strategies =
        (strategies ?? []).ToDictionary(s => s.Name, StringComparer.OrdinalIgnoreCase);

    public IReadOnlyCollection<string> AgentKinds => _agents.Keys;

    public IReadOnlyCollection<string> StrategyNames => _strategies.Keys;

    public IAgent? FindAgent(string kind) => _agents.GetValueOrDefault(kind);

    public IRecoveryStrategy? FindStrategy(string name) => _strategies.GetValueOrDefault(name);
}
