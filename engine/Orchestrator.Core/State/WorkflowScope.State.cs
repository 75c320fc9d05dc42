using System.Text.Json.Nodes;
using Orchestrator.Core.State;

namespace Orchestrator.Core.Workflow;

/// <summary>The system state as a step, so that a script can decide from it and a resumed run sees what the first attempt saw.</summary>
public sealed partial class WorkflowScope
{
    /// <summary>
    /// Reads the system state as step <c>system-state</c>: agents (kinds, capabilities, circuits, in-flight calls, limits),
    /// MCP servers and their health, connectors and their last health check, open review items, and what learning prefers
    /// per phase under the run's goals.
    /// </summary>
    public Task<JsonNode?> SystemStateAsync(CancellationToken cancellationToken = default) =>
        RunStepAsync("system-state", "state", null, null, async (_, _, ct) => (JsonNode?)await SystemStateReader.ReadAsync(
            new SystemSources
            {
                Agents = _run.Agents,
                Health = _run.Health,
                InFlight = _run.Gates.InFlight,
                Mcp = _run.Mcp,
                Connectors = _run.Connectors,
                Journal = _run.Journal,
                Goals = _run.Goals,
            },
            ct).ConfigureAwait(false), cancellationToken);
}
