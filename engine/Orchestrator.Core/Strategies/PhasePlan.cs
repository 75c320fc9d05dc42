using System.Text.Json.Nodes;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Strategies;

/// <summary>What a phase does and the strategies it may do it with.</summary>
public sealed record PhasePlan
{
    /// <summary>The candidate strategies, in order of preference when nothing has been learned yet.</summary>
    public required IReadOnlyList<PhaseStrategy> Strategies { get; init; }

    /// <summary>Turns the phase's task into work items (the master's split); without it the task must be an array.</summary>
    public Func<WorkflowScope, JsonNode?, CancellationToken, Task<JsonNode?>>? Split { get; init; }

    /// <summary>Does one item; without it the item runs on the strategy's agent.</summary>
    public Func<WorkflowScope, PhaseWork, CancellationToken, Task<JsonNode?>>? Worker { get; init; }

    /// <summary>Combines the results, in item order; without it the phase returns them as an array.</summary>
    public Func<WorkflowScope, JsonArray, JsonNode?, CancellationToken, Task<JsonNode?>>? Integrate { get; init; }

    /// <summary>How many of a strategy's latest items its effectiveness score looks at.</summary>
    public int Window { get; init; } = Verbs.VerbDefaults.PhaseWindow;

    /// <summary>How much selection favours strategies tried less often (the UCB exploration weight).</summary>
    public double Exploration { get; init; } = Verbs.VerbDefaults.PhaseExploration;

    /// <summary>Go on after a failed item (the phase ends degraded) instead of failing at the first.</summary>
    public bool ContinueOnFailure { get; init; }

    /// <summary>The most the phase's agents may report as cost (tokens, or their own <c>cost</c>); null for no limit of its own.</summary>
    public double? Budget { get; init; }

    /// <summary>How bad an agent call of the phase refused because its budget is spent is: critical fails the step, moderate and minor degrade it.</summary>
    public Orchestrator.Abstractions.Severity OverBudget { get; init; } = Orchestrator.Abstractions.Severity.Critical;
}

/// <summary>One work item as a phase's worker sees it.</summary>
/// <param name="Agent">The agent kind the current strategy chose, or null for a script worker with no agent.</param>
public sealed record PhaseWork(JsonNode? Item, int Index, PhaseStrategy Strategy, string? Agent);
