using System.Text.Json.Nodes;

namespace Orchestrator.Abstractions;

/// <summary>A message the engine sends an agent on its channel.</summary>
/// <param name="Type">What happened: <see cref="StrategyChanged"/>, <see cref="Proposal"/>, <see cref="Cancellation"/>, or a plugin's own type.</param>
/// <param name="RunId">The run the message is about.</param>
/// <param name="Payload">The details, as JSON.</param>
public sealed record AgentMessage(string Type, string RunId, JsonNode? Payload)
{
    /// <summary>A phase switched strategy; the payload has the phase, the old and new strategy and the score that caused it.</summary>
    public const string StrategyChanged = "strategy-changed";

    /// <summary>A peer proposed an approach.</summary>
    public const string Proposal = "proposal";

    /// <summary>The work the agent was given is cancelled.</summary>
    public const string Cancellation = "cancellation";
}
