using System.Text.Json.Nodes;

namespace Orchestrator.Abstractions;

/// <summary>What a recovery strategy knows about a failure and how it can act on it.</summary>
/// <param name="Task">The task that failed.</param>
/// <param name="AgentKind">The kind of agent that ran it.</param>
/// <param name="Failure">The failed result.</param>
/// <param name="Options">The strategy's options from the script, if any.</param>
/// <param name="RunAgent">
/// Runs a task on an agent of the given kind, as the engine would: journaled as an attempt under the
/// failed step, never throwing for an agent's failure (only for cancellation).
/// </param>
public sealed record RecoveryContext(
    AgentTask Task,
    string AgentKind,
    AgentResult Failure,
    JsonNode? Options,
    Func<string, AgentTask, CancellationToken, ValueTask<AgentResult>> RunAgent)
{
    /// <summary>The engine's clock: wait with it (never with the wall clock) so tests can move time.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// Undoes the steps finished since the script's last checkpoint by running their compensations in
    /// reverse order, journaled; returns how many ran. Null where the engine offers no rollback.
    /// </summary>
    public Func<CancellationToken, ValueTask<int>>? Rollback { get; init; }

    /// <summary>
    /// Runs the task on another agent of the same kind whose circuit is not open (a replica from another
    /// plugin), journaled as an attempt; null when there is none. Null where the engine offers no redistribution.
    /// </summary>
    public Func<AgentTask, CancellationToken, ValueTask<AgentResult?>>? Redistribute { get; init; }
}
