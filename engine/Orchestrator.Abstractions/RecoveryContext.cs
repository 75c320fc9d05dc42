using System.Text.Json.Nodes;

namespace Orchestrator.Abstractions;

/// <summary>What a recovery strategy knows about a failure and how it can act on it.</summary>
/// <param name="Task">The task that failed.</param>
/// <param name="AgentKind">The kind of agent that ran it.</param>
/// <param name="Failure">The failed result.</param>
/// <param name="Options">The strategy's options from the script, if any.</param>
/// <param name="RunAgent">Runs a task on an agent of the given kind, as the engine would.</param>
public sealed record RecoveryContext(
    AgentTask Task,
    string AgentKind,
    AgentResult Failure,
    JsonNode? Options,
    Func<string, AgentTask, CancellationToken, ValueTask<AgentResult>> RunAgent);
