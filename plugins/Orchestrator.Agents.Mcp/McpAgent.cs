using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace Orchestrator.Agents.Mcp;

/// <summary>
/// Calls one tool of the host's MCP servers: input <c>{ tool, server?, arguments? }</c>, output
/// <c>{ server, text, content, structuredContent? }</c>. The host owns the servers (routing, load balancing, health,
/// failover) and lends them through <see cref="AgentTask.Tools"/>, so this agent holds no connections of its own.
/// </summary>
public sealed class McpAgent : IAgent
{
    private static readonly string[] Keys = ["tool", "server", "arguments"];

    public string Kind => "mcp";

    /// <summary><c>tool-call</c>: calls a tool of the host's MCP servers.</summary>
    public IReadOnlyCollection<string> Capabilities { get; } = ["tool-call"];

    /// <summary>One circuit per server and tool (the tool alone when the engine picks the server).</summary>
    public string? TargetOf(AgentTask task) =>
        task.Input is JsonObject o && o["tool"] is JsonValue t && t.TryGetValue<string>(out var tool)
            ? o["server"] is JsonValue s && s.TryGetValue<string>(out var server) ? server + "/" + tool : tool
            : null;

    public async ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        if (task.Input is not JsonObject input || input["tool"] is not JsonValue toolValue || !toolValue.TryGetValue<string>(out var tool) || tool.Length == 0)
        {
            return AgentResult.Fail("mcp: the input must be an object with \"tool\" (and optionally \"server\" and \"arguments\")");
        }

        var unknown = input.Select(p => p.Key).FirstOrDefault(k => Array.IndexOf(Keys, k) < 0);
        if (unknown is not null)
        {
            return AgentResult.Fail($"mcp: unknown input key '{unknown}'; known: {string.Join(", ", Keys)}");
        }

        var server = input["server"] is JsonValue s && s.TryGetValue<string>(out var name) ? name : null;
        if (task.Tools is not { } tools)
        {
            return AgentResult.Fail("mcp: the host has no MCP servers configured (mcp.json next to the script, in the store folder, or --mcp-config)");
        }

        try
        {
            return AgentResult.Ok(await tools.CallToolAsync(server, tool, input["arguments"]?.DeepClone(), cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return AgentResult.Fail("mcp: " + ex.Message);
        }
    }
}
