using System.Text.Json.Nodes;

namespace Orchestrator.Core.Workflow;

/// <summary>
/// How a master-worker step splits its task, works on the pieces and puts the results together. The master is an
/// agent kind (<see cref="MasterAgent"/>), script functions (<see cref="Split"/>, <see cref="Integrate"/>), or both:
/// a function given takes that phase over from the agent. The worker is an agent kind or a script function.
/// </summary>
public sealed record MasterWorkerPlan
{
    /// <summary>
    /// The master agent: called with <c>{ "phase": "split", "task" }</c> it returns the subtasks (an array, or
    /// <c>{ "subtasks": [...] }</c>); called with <c>{ "phase": "integrate", "task", "results" }</c> it returns the result.
    /// </summary>
    public string? MasterAgent { get; init; }

    /// <summary>The master as script code: gets the task, returns the subtasks; runs as the step <c>split</c>.</summary>
    public Func<WorkflowScope, JsonNode?, CancellationToken, Task<JsonNode?>>? Split { get; init; }

    /// <summary>The worker agent kind: runs once per subtask, with the subtask as its input.</summary>
    public string? WorkerAgent { get; init; }

    /// <summary>The worker as script code: gets a subtask and its index, returns its result.</summary>
    public Func<WorkflowScope, JsonNode?, int, CancellationToken, Task<JsonNode?>>? Worker { get; init; }

    /// <summary>
    /// Puts the results (in subtask order) together with the task; runs as the step <c>integrate</c>. Without it
    /// the master agent integrates, and without either the result is the array of results.
    /// </summary>
    public Func<WorkflowScope, JsonArray, JsonNode?, CancellationToken, Task<JsonNode?>>? Integrate { get; init; }

    /// <summary>Told after each subtask finishes, one call at a time, in the order they finish.</summary>
    public Func<MasterWorkerProgress, CancellationToken, Task>? OnProgress { get; init; }

    /// <summary>How many subtasks run at once; null for the processor count.</summary>
    public int? Concurrency { get; init; }

    /// <summary>The recovery chain of a worker agent's failed subtask; null takes the workflow's.</summary>
    public RecoveryChain? Recovery { get; init; }

    /// <summary>The limit for each worker agent attempt; null takes the workflow's step timeout.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// When set, a subtask that fails (after recovery) leaves <c>{ "error" }</c> in its slot, the master integrates
    /// what there is and the step ends degraded; otherwise the first failure cancels the rest and fails the step.
    /// </summary>
    public bool ContinueOnFailure { get; init; }
}

/// <summary>One finished subtask, as the master's progress callback sees it.</summary>
/// <param name="Done">How many subtasks have finished so far, this one included.</param>
/// <param name="Total">How many subtasks the master split the task into.</param>
/// <param name="Index">Which subtask finished (its place in the split, from 0).</param>
/// <param name="Ok">Whether it produced a result (a degraded subtask counts, with its fallback).</param>
/// <param name="Output">Its result when <paramref name="Ok"/>.</param>
/// <param name="Error">Why it failed, when not <paramref name="Ok"/>.</param>
public sealed record MasterWorkerProgress(int Done, int Total, int Index, bool Ok, JsonNode? Output, string? Error)
{
    /// <summary><c>{ done, total, index, ok, output }</c>, or <c>{ ..., ok: false, error }</c>.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject { ["done"] = Done, ["total"] = Total, ["index"] = Index, ["ok"] = Ok };
        if (Ok)
        {
            json["output"] = Output?.DeepClone();
        }
        else
        {
            json["error"] = Error;
        }

        return json;
    }
}
