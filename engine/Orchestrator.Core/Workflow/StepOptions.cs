using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace Orchestrator.Core.Workflow;

/// <summary>How one agent step runs: its name, its recovery chain, its timeout and how bad its failure is.</summary>
public sealed record StepOptions
{
    /// <summary>The step's name (default: the agent kind); it becomes the last part of the step id.</summary>
    public string? Name { get; init; }

    /// <summary>The recovery chain for this step; null takes the workflow's (see <see cref="WorkflowScope.SetRecovery"/>).</summary>
    public RecoveryChain? Recovery { get; init; }

    /// <summary>The limit for each attempt; null takes the workflow's step timeout.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Overrides how the step's failure is classified; null asks the script's rule, then the agent.</summary>
    public Severity? Severity { get; init; }

    /// <summary>The value a degraded (moderate or minor) failure returns to the script instead of throwing.</summary>
    public JsonNode? Fallback { get; init; }

    /// <summary>Undoes the step's effect if a rollback reaches it (saga style); runs as a journaled step of its own.</summary>
    public Func<WorkflowScope, CancellationToken, Task>? Compensation { get; init; }
}

/// <summary>One link of a recovery chain: a strategy by name and its options.</summary>
public sealed record RecoveryLink(string Strategy, JsonNode? Options = null);

/// <summary>The recovery strategies a failed step tries, in order, until one rescues it.</summary>
public sealed class RecoveryChain
{
    private RecoveryChain(IReadOnlyList<RecoveryLink> links) => Links = links;

    /// <summary>No recovery: a failure goes straight to its severity.</summary>
    public static RecoveryChain None { get; } = new([]);

    public IReadOnlyList<RecoveryLink> Links { get; }

    public static RecoveryChain Of(IEnumerable<RecoveryLink> links) => new([.. links]);

    /// <summary>This chain with one more strategy at its end.</summary>
    public RecoveryChain Then(string strategy, JsonNode? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(strategy);
        return new([.. Links, new RecoveryLink(strategy, options)]);
    }

    public override string ToString() => Links.Count == 0 ? "(none)" : string.Join(" → ", Links.Select(l => l.Strategy));
}

/// <summary>A failed step as a severity rule sees it.</summary>
/// <param name="StepId">The step's id.</param>
/// <param name="Agent">The agent kind, for agent steps.</param>
/// <param name="Error">What went wrong, including what recovery tried.</param>
/// <param name="ErrorType">A short class of error: <c>agent</c> (the agent reported it), <c>timeout</c>, <c>exception</c>, <c>unknown-agent</c>.</param>
/// <param name="Reported">The severity the agent reported (critical when it threw).</param>
public sealed record StepFailure(string StepId, string? Agent, string Error, string ErrorType, Severity Reported);

/// <summary>A script's rule for how bad a failure is; null leaves the decision to the agent's report.</summary>
public delegate Task<Severity?> FailureClassifier(StepFailure failure);
