namespace Orchestrator.Abstractions;

/// <summary>
/// Does one kind of work for a workflow step. One instance serves every run in the host,
/// so implementations must be safe to call concurrently.
/// </summary>
public interface IAgent
{
    /// <summary>The name scripts use to reach this agent, e.g. <c>shell</c>.</summary>
    string Kind { get; }

    /// <summary>What the agent can do, beyond its kind; phases may ask for an agent by capability (e.g. <c>summarize</c>).</summary>
    IReadOnlyCollection<string> Capabilities => [];

    /// <summary>The most calls the agent takes at once; the engine queues the rest. Zero or less for no limit.</summary>
    int MaxConcurrency => 0;

    /// <summary>
    /// What <paramref name="task"/> calls on (the shell agent: its command; http: the host), so that the engine keeps one
    /// circuit breaker per agent and target and one failing command does not cut the agent off; null (the default) for
    /// the agent as a whole. Called before every call: keep it cheap, and never throw.
    /// </summary>
    string? TargetOf(AgentTask task) => null;

    /// <summary>Runs <paramref name="task"/>; a failure is a result, not an exception.</summary>
    ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken);

    /// <summary>
    /// Receives a message on the agent's channel: a strategy change, a peer's proposal, a cancellation notice.
    /// Messages arrive one at a time and in order; one that throws is logged and does not stop the next.
    /// </summary>
    ValueTask OnMessageAsync(AgentMessage message, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
