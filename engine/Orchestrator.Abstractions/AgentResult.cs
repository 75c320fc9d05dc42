using System.Text.Json.Nodes;

namespace Orchestrator.Abstractions;

/// <summary>The outcome of an agent run. Agents report failure here rather than by throwing.</summary>
public sealed record AgentResult
{
    public required bool Success { get; init; }

    /// <summary>The agent's output; on failure it may still carry detail (stderr, status code...).</summary>
    public JsonNode? Output { get; init; }

    /// <summary>Why the run failed; null on success.</summary>
    public string? Error { get; init; }

    /// <summary>How bad a failure is; ignored on success.</summary>
    public Severity Severity { get; init; } = Severity.Critical;

    public static AgentResult Ok(JsonNode? output = null) => new() { Success = true, Output = output };

    public static AgentResult Fail(string error, JsonNode? output = null, Severity severity = Severity.Critical) =>
        new() { Success = false, Error = error, Output = output, Severity = severity };
}
