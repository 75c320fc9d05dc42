using System.Text.Json.Nodes;

namespace Orchestrator.Abstractions;

/// <summary>What an agent is asked to do: a JSON input plus the identity of the step asking.</summary>
/// <param name="RunId">The run the step belongs to.</param>
/// <param name="StepId">The step's stable logical id within the run.</param>
/// <param name="Input">The step's input, as JSON so that it crosses load contexts and the journal unchanged.</param>
public sealed record AgentTask(string RunId, string StepId, JsonNode? Input)
{
    /// <summary>The attempt number, starting at 1; recovery strategies raise it.</summary>
    public int Attempt { get; init; } = 1;

    /// <summary>Stable across attempts and resumes of the same step, so that an agent can make a repeat safe.</summary>
    public string IdempotencyKey => RunId + "/" + StepId;

    /// <summary>The host's MCP tools; null when the host has no MCP servers configured.</summary>
    public IToolCaller? Tools { get; init; }
}
