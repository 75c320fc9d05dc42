namespace Orchestrator.Core.Workflow;

/// <summary>A step failed; the script can catch it, and if it does not, the run fails.</summary>
public sealed class StepFailedException(string stepId, string message, Exception? inner = null)
    : Exception($"step '{stepId}' failed: {message}", inner)
{
    public string StepId { get; } = stepId;

    /// <summary>The failure's own message, without the step prefix.</summary>
    public string Reason { get; } = message;
}

/// <summary>A script asked for an agent kind that no loaded plugin provides.</summary>
public sealed class UnknownAgentException(string kind, IEnumerable<string> known, IReadOnlyList<string>? loadErrors = null)
    : Exception($"unknown agent '{kind}'; known agents: {(known.Any() ? string.Join(", ", known.Order(StringComparer.Ordinal)) : "(none loaded)")}"
        + (loadErrors is { Count: > 0 } ? $"; plugins that did not load: {string.Join("; ", loadErrors)}" : ""))
{
    public string Kind { get; } = kind;
}

/// <summary>A merge policy could not produce a result from the branches' outcomes.</summary>
public sealed class MergeFailedException(string message) : Exception(message);

/// <summary>An agent reported failure (or threw); carries what the agent said so the journal keeps it.</summary>
internal sealed class AgentFailedException(string message, System.Text.Json.Nodes.JsonNode? output, Orchestrator.Abstractions.Severity severity) : Exception(message)
{
    public System.Text.Json.Nodes.JsonNode? Output { get; } = output;

    public Orchestrator.Abstractions.Severity Severity { get; } = severity;

    /// <summary>The call was refused because the run's or its phase's budget is spent: the agent was never called.</summary>
    public bool OverBudget { get; init; }
}

/// <summary>A failure judged moderate or minor: the step ends degraded and the run goes on.</summary>
internal sealed class StepDegradedException(Orchestrator.Abstractions.Severity severity, string message, System.Text.Json.Nodes.JsonNode? fallback) : Exception(message)
{
    public Orchestrator.Abstractions.Severity Severity { get; } = severity;

    public System.Text.Json.Nodes.JsonNode? Fallback { get; } = fallback;

    /// <summary>The call was refused because the run's or its phase's budget is spent: the agent was never called.</summary>
    public bool OverBudget { get; init; }
}
