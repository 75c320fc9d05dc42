using System.Text.Json.Nodes;
using Orchestrator.Core.Connectors;
using Orchestrator.Core.Goals;
using Orchestrator.Core.Health;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Learning;
using Orchestrator.Core.Mcp;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.State;

/// <summary>What the system state is read from; a part that is missing (no MCP servers, no store) is left out or empty.</summary>
internal sealed record SystemSources
{
    public required IAgentRegistry Agents { get; init; }

    public AgentHealthBook? Health { get; init; }

    /// <summary>The calls an agent (by provider id) is making now; none known when null.</summary>
    public Func<string, int>? InFlight { get; init; }

    public McpCoordinator? Mcp { get; init; }

    public ConnectorSet? Connectors { get; init; }

    /// <summary>The store: its review queue, open approvals and learning.</summary>
    public IJournal? Journal { get; init; }

    /// <summary>The goals learning's preferences are weighed by.</summary>
    public RunGoals Goals { get; init; } = RunGoals.Default;
}

/// <summary>
/// The system state, one model for <c>SystemState()</c>/<c>systemState()</c>, <c>orchestrator status</c> and the host: a
/// JSON object with one section per part (<c>agents</c>, <c>mcpServers</c>, <c>connectors</c>, <c>reviews</c>,
/// <c>learning</c>), so a new part (the cluster's nodes) is one more section.
/// </summary>
internal static class SystemStateReader
{
    public static async Task<JsonObject> ReadAsync(SystemSources sources, CancellationToken cancellationToken)
    {
        return new JsonObject
        {
            ["agents"] = Agents(sources),
            ["mcpServers"] = McpServers(sources.Mcp),
            ["connectors"] = Connectors(sources.Connectors),
            ["reviews"] = sources.Journal is { } journal ? await ReviewsAsync(journal, cancellationToken).ConfigureAwait(false) : new JsonObject(),
            ["learning"] = sources.Journal is { } store ? await LearningAsync(store, sources.Goals, cancellationToken).ConfigureAwait(false) : new JsonObject(),
        };
    }

    private static JsonArray Agents(SystemSources sources)
    {
        var circuits = sources.Health?.Circuits ?? [];
        var agents = new JsonArray();
        foreach (var kind in sources.Agents.AgentKinds.Order(StringComparer.OrdinalIgnoreCase))
        {
            foreach (var provider in sources.Agents.FindProviders(kind))
            {
                // The agent's own circuit and one per target it named ("shell echo", "http example.org").
                var own = circuits.Where(c => string.Equals(c.Id, provider.Id, StringComparison.OrdinalIgnoreCase)
                    || c.Id.StartsWith(provider.Id + " ", StringComparison.OrdinalIgnoreCase));
                agents.Add(new JsonObject
                {
                    ["id"] = provider.Id,
                    ["kind"] = kind,
                    ["capabilities"] = new JsonArray([.. provider.Agent.Capabilities.Order(StringComparer.Ordinal).Select(c => (JsonNode)c)]),
                    ["maxConcurrency"] = provider.Agent.MaxConcurrency > 0 ? provider.Agent.MaxConcurrency : null,
                    ["inFlight"] = sources.InFlight?.Invoke(provider.Id) ?? 0,
                    ["circuits"] = new JsonArray([.. own.OrderBy(c => c.Id, StringComparer.Ordinal).Select(c => (JsonNode)new JsonObject
                    {
                        ["id"] = c.Id,
                        ["target"] = c.Id.Length > provider.Id.Length ? c.Id[(provider.Id.Length + 1)..] : null,
                        ["state"] = c.State.ToString().ToLowerInvariant(),
                        ["successes"] = c.Successes,
                        ["failures"] = c.Failures,
                        ["breakRemainingMs"] = c.BreakRemaining?.TotalMilliseconds,
                    })]),
                });
            }
        }

        return agents;
    }

    private static JsonArray McpServers(McpCoordinator? mcp) => new([.. (mcp?.Servers ?? []).Select(s => (JsonNode)new JsonObject
    {
        ["name"] = s.Name,
        ["health"] = s.Health.ToString().ToLowerInvariant(),
        ["lastError"] = s.LastError,
        ["tools"] = new JsonArray([.. s.Tools.Select(t => (JsonNode)t.Name)]),
        ["outstanding"] = s.Outstanding,
    })]);

    private static JsonArray Connectors(ConnectorSet? connectors) => new([.. (connectors?.Names ?? []).Select(name =>
    {
        var last = connectors!.LastHealth(name);
        return (JsonNode)new JsonObject
        {
            ["name"] = name,
            ["lastHealthCheck"] = last is { } check ? new JsonObject
            {
                ["at"] = check.At,
                ["healthy"] = check.Health.Healthy,
                ["latencyMs"] = check.Health.LatencyMs,
                ["detail"] = check.Health.Detail,
            } : null,
        };
    })]);

    /// <summary>What waits for a person: the optimizer's pending recommendations and the open approvals.</summary>
    private static async Task<JsonObject> ReviewsAsync(IJournal journal, CancellationToken ct)
    {
        var pending = (await journal.Learning.ListRecommendationsAsync(ct).ConfigureAwait(false)).Where(r => r.Status == RecommendationStatus.Pending);
        var approvals = (await journal.Waits.ListAsync(null, includeClosed: false, ct).ConfigureAwait(false)).Where(w => w.Kind == "approval" && w.Decision is null);
        return new JsonObject
        {
            ["recommendations"] = new JsonArray([.. pending.Select(r => (JsonNode)r.ToJson())]),
            ["approvals"] = new JsonArray([.. approvals.Select(w => (JsonNode)new JsonObject { ["runId"] = w.RunId, ["stepId"] = w.StepId, ["name"] = w.Name })]),
        };
    }

    /// <summary>Per phase, the strategy learning prefers now and each one's value, under the given goals.</summary>
    private static async Task<JsonObject> LearningAsync(IJournal journal, RunGoals goals, CancellationToken ct)
    {
        var phases = await LearningPreferences.ReadAsync(journal.Learning, null, goals, ct).ConfigureAwait(false);
        return new JsonObject
        {
            ["weights"] = goals.Weights.ToJson(),
            ["halfLife"] = goals.HalfLife,
            ["phases"] = new JsonArray([.. phases.Select(p => (JsonNode)p.ToJson())]),
        };
    }
}
