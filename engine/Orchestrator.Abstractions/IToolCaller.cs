using System.Text.Json.Nodes;

namespace Orchestrator.Abstractions;

/// <summary>The host's MCP tools, as an agent may call them (<see cref="AgentTask.Tools"/>).</summary>
public interface IToolCaller
{
    /// <summary>
    /// Calls <paramref name="tool"/> on <paramref name="server"/>, or on whichever server the host routes it to when
    /// null. Returns <c>{ server, text, content, structuredContent? }</c>; a failed call throws with a one-line message.
    /// </summary>
    ValueTask<JsonNode?> CallToolAsync(string? server, string tool, JsonNode? arguments, CancellationToken cancellationToken);
}
