using System.Collections.Concurrent;

namespace Orchestrator.Core.Health;

/// <summary>How an agent has been doing lately, as its circuit breaker sees it.</summary>
public enum AgentHealthState
{
    /// <summary>Circuit closed: calls go through.</summary>
    Healthy,

    /// <summary>Circuit half-open: one trial call decides.</summary>
    Recovering,

    /// <summary>Circuit open: calls fail fast until the break is over.</summary>
    Unhealthy,
}

/// <summary>When an agent's circuit opens and for how long.</summary>
internal sealed record CircuitOptions
{
    public static CircuitOptions Default { get; } = new();

    /// <summary>The share of failed calls in the sampling window that opens the circuit.</summary>
    public double FailureRatio { get; init; } = 0.5;

    /// <summary>Calls needed in the window before the ratio counts.</summary>
    public int MinimumThroughput { get; init; } = 3;

    /// <summary>How far back the outcomes that make the ratio reach.</summary>
    public TimeSpan SamplingDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open circuit fails calls fast before it lets one trial call through.</summary>
    public TimeSpan BreakDuration { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>The health of every agent the host has called, one circuit breaker per agent.</summary>
internal sealed class AgentHealthBook(TimeProvider time, CircuitOptions? options = null)
{
    private readonly ConcurrentDictionary<string, AgentCircuit> _circuits = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, CircuitOptions> _byKind = new(StringComparer.OrdinalIgnoreCase);
    private CircuitOptions _options = options ?? CircuitOptions.Default;

    public AgentCircuit For(string agentId) =>
        _circuits.TryGetValue(agentId, out var circuit) ? circuit : _circuits.GetOrAdd(agentId, id => new AgentCircuit(id, time, OptionsFor(id)));

    /// <summary>The options of an agent kind's circuits (of every kind's without one of its own).</summary>
    public CircuitOptions OptionsOf(string? kind) => kind is not null && _byKind.TryGetValue(kind, out var own) ? own : _options;

    /// <summary>
    /// Tunes the circuits of agent kind <paramref name="kind"/> (every kind when null) from now on, the ones already made
    /// included: they are the engine's, so in a host the change holds for every run until changed again.
    /// </summary>
    public void Configure(string? kind, CircuitOptions options)
    {
        if (kind is null)
        {
            _options = options;
            _byKind.Clear();
        }
        else
        {
            _byKind[kind] = options;
        }

        foreach (var circuit in _circuits.Values.Where(c => kind is null || string.Equals(KindOf(c.Id), kind, StringComparison.OrdinalIgnoreCase)))
        {
            circuit.Reconfigure(options);
        }
    }

    private CircuitOptions OptionsFor(string circuitId) => OptionsOf(KindOf(circuitId));

    /// <summary>The agent kind of a circuit id: <c>shell@Orchestrator.Agents.Shell echo</c>, <c>llm#2</c> → <c>shell</c>, <c>llm</c>.</summary>
    private static string KindOf(string circuitId)
    {
        var end = circuitId.IndexOfAny(['@', '#', ' ']);
        return end < 0 ? circuitId : circuitId[..end];
    }

    /// <summary>The circuits of the agents called so far.</summary>
    public IReadOnlyCollection<AgentCircuit> Circuits => [.. _circuits.Values];

    public AgentHealthState StateOf(string agentId) => _circuits.TryGetValue(agentId, out var circuit) ? circuit.State : AgentHealthState.Healthy;
}
