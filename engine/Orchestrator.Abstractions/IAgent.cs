namespace Orchestrator.Abstractions;

/// <summary>
/// Does one kind of work for a workflow step. One instance serves every run in the host,
/// so implementations must be safe to call concurrently.
/// </summary>
public interface IAgent
{
    /// <summary>The name scripts use to reach this agent, e.g. <c>shell</c>.</summary>
    string Kind { get; }

    /// <summary>Runs <paramref name="task"/>; a failure is a result, not an exception.</summary>
    ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken);
}
