using System.Text.Json.Nodes;

namespace Orchestrator.Scripting.CSharp;

/// <summary>
/// MCP tools for .csx workflows: <c>await Mcp.CallAsync("echo", new { message = "hi" })</c> routes the call to a server
/// that offers the tool; <c>await Mcp.CallAsync("memory", "read_graph")</c> names the server. Each call is a journaled step.
/// </summary>
public sealed partial class WorkflowGlobals
{
    /// <summary>The MCP servers of the run's mcp.json.</summary>
    public McpHandle Mcp => new(this);

    internal Task<JsonNode?> CallTool(string? server, string tool, object? arguments) =>
        Scope.CallToolAsync(server, tool, ToJson(arguments), CancellationToken);

    internal Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> McpTools() => Scope.McpToolsAsync(CancellationToken);
}

/// <summary>What <c>Mcp</c> gives a .csx workflow.</summary>
public sealed class McpHandle
{
    private readonly WorkflowGlobals _globals;

    internal McpHandle(WorkflowGlobals globals) => _globals = globals;

    /// <summary>Calls <paramref name="tool"/> as a step on a server the load balancer picks; returns <c>{ server, text, content, structuredContent? }</c>.</summary>
    public Task<JsonNode?> CallAsync(string tool, object? arguments = null) => _globals.CallTool(null, tool, arguments);

    /// <summary>Calls <paramref name="tool"/> as a step on the server named <paramref name="server"/>.</summary>
    public Task<JsonNode?> CallAsync(string server, string tool, object? arguments) => _globals.CallTool(server, tool, arguments);

    /// <summary>Every tool on offer, with the servers that offer it.</summary>
    public Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> ToolsAsync() => _globals.McpTools();
}
