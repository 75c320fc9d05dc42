using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Mcp;

namespace Orchestrator.Core.Workflow;

/// <summary>
/// MCP tool calls as steps: <c>echo</c> (kind <c>mcp</c>) with one child step per server tried
/// (<c>echo/everything-a</c>, kind <c>mcp-call</c>, agent = the server), so the journal and the report show which
/// server served the call and, after a failover, which one failed. A finished call replays on resume, never calls again.
/// </summary>
public sealed partial class WorkflowScope
{
    /// <summary>Calls an MCP tool as a step named after it; <paramref name="server"/> null lets the balancer choose.</summary>
    public Task<JsonNode?> CallToolAsync(string? server, string tool, JsonNode? arguments, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tool);
        var input = new JsonObject { ["server"] = server, ["tool"] = tool, ["arguments"] = arguments?.DeepClone() };
        return RunStepAsync(tool, "mcp", server, input, async (scope, _, ct) =>
            await Coordinator().CallAsync(server, tool, arguments, (chosen, call, c) => scope.CallAttemptAsync(chosen, call, c), ct).ConfigureAwait(false), cancellationToken);
    }

    /// <summary>The names of the tools the configured MCP servers offer (connecting them if need be).</summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> McpToolsAsync(CancellationToken cancellationToken = default)
    {
        var mcp = Coordinator();
        await mcp.StartAsync(cancellationToken).ConfigureAwait(false);
        return mcp.ToolsOnOffer();
    }

    /// <summary>What agents get as <see cref="AgentTask.Tools"/>: the same routing, failover and health, inside the agent's step.</summary>
    internal IToolCaller? ToolCaller => _run.Mcp is { } mcp ? new AgentToolCaller(mcp) : null;

    private McpCoordinator Coordinator() =>
        _run.Mcp ?? throw new McpToolException($"no MCP servers are configured: put an {McpConfiguration.FileName} next to the script or in the store folder, or pass --mcp-config FILE");

    private async Task<JsonObject> CallAttemptAsync(McpServerConnection server, Func<CancellationToken, Task<JsonObject>> call, CancellationToken ct)
    {
        try
        {
            var output = await RunStepAsync(server.Name, "mcp-call", server.Name, null, async (_, _, c) => await call(c).ConfigureAwait(false), ct).ConfigureAwait(false);
            return (JsonObject)output!;
        }
        catch (StepFailedException failed) when (failed.InnerException is { } cause)
        {
            // The attempt is journaled as failed; the caller decides from the cause whether to fail over.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(cause);
            throw;
        }
    }

    private sealed class AgentToolCaller(McpCoordinator mcp) : IToolCaller
    {
        public async ValueTask<JsonNode?> CallToolAsync(string? server, string tool, JsonNode? arguments, CancellationToken cancellationToken) =>
            await mcp.CallAsync(server, tool, arguments, (_, call, ct) => call(ct), cancellationToken).ConfigureAwait(false);
    }
}
