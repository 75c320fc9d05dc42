using System.Text.Json.Nodes;

namespace Orchestrator.Abstractions;

/// <summary>The outcome of an agent run. Agents report failure here rather than by throwing.</summary>
public sealed record AgentResult
{
    /// <summary>Whether the agent did its work; a failure goes to the step's recovery chain and severity.</summary>
    public required bool Success { get; init; }

    /// <summary>The agent's output; on failure it may still carry detail (stderr, status code...).</summary>
    public JsonNode? Output { get; init; }

    /// <summary>Why the run failed; null on success.</summary>
    public string? Error { get; init; }

    /// <summary>How bad a failure is; ignored on success.</summary>
    public Severity Severity { get; init; } = Severity.Critical;

    /// <summary>A success with its output.</summary>
    public static AgentResult Ok(JsonNode? output = null) => new() { Success = true, Output = output };

    /// <summary>A failure: why, any detail worth keeping, and how bad it is (critical unless said otherwise).</summary>
    public static AgentResult Fail(string error, JsonNode? output = null, Severity severity = Severity.Critical) =>
        new() { Success = false, Error = error, Output = output, Severity = severity };
}
