using System.Text.Json.Nodes;

namespace Orchestrator.Core.Workflow;

/// <summary>One branch of a parallel step: its body gets its own scope and its own copy of the context.</summary>
public sealed record ParallelBranch(string Name, Func<WorkflowScope, JsonNode?, CancellationToken, Task<JsonNode?>> Body)
{
    /// <summary>An optional branch that fails is dropped from the merge (the step is degraded) instead of failing the parallel step.</summary>
    public bool Optional { get; init; }
}

/// <summary>One stage of a sequence: its body gets the context left by the stage before and returns what to pass on.</summary>
public sealed record SequenceStage(string Name, Func<WorkflowScope, JsonNode?, CancellationToken, Task<JsonNode?>> Body);

/// <summary>How a finished parallel branch ended.</summary>
internal readonly record struct BranchOutcome(string Name, JsonNode? Output, Exception? Error)
{
    public bool Succeeded => Error is null && !Dropped;

    /// <summary>An optional branch that failed: it contributes nothing to the merge.</summary>
    public bool Dropped { get; init; }
}
