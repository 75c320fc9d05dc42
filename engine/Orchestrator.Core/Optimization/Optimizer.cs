using System.Text.Json.Nodes;
using Orchestrator.Core.Health;
using Orchestrator.Core.Learning;
using Orchestrator.Core.Monitoring;
using Orchestrator.Core.Provisioning;
using Orchestrator.Core.Strategies;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Optimization;

/// <summary>
/// The optimization loop: turns what the run measured since its last look into recommendations for the running
/// phases. Low-risk ones (more concurrency for a saturated, healthy phase; a longer timeout where items time out)
/// are applied at once and kept for later runs; high-risk ones (swapping a strategy's agent for one that fails
/// less) wait in the review queue for <c>orchestrator review approve</c> and take effect from the next run.
/// </summary>
internal sealed class Optimizer(WorkflowRun run)
{
    /// <summary>The share of failed calls above which an agent is worth replacing.</summary>
    private const double SwapErrorRate = 0.5;

    private const int SwapMinimumCalls = 3;

    private readonly HashSet<string> _proposed = new(StringComparer.Ordinal);
    private MetricsSnapshot _previous = MetricsSnapshot.Empty(run.Time.GetTimestamp());

    public async Task TickAsync(CancellationToken ct)
    {
        var now = run.Metrics.Snapshot();
        var perAgent = now.Since(_previous);
        _previous = now;
        var total = perAgent.Values.Aggregate(AgentCounts.Zero, (sum, a) => sum.Plus(a));

        foreach (var phase in run.Phases.Values.ToList())
        {
            var strategy = phase.Strategy;
            var kinds = strategy.Agent is null ? [] : run.Agents.KindsFor(strategy.Agent);
            var kind = kinds.Count == 0 ? null : kinds[0];
            var providers = kind is null ? [] : run.Agents.FindProviders(kind);
            var healthy = providers.All(p => run.Health.StateOf(p.Id) == AgentHealthState.Healthy);

            // Work is waiting, every slot is busy, the agents are healthy and hardly failing: more concurrency is safe.
            if (strategy.Mode is CoordinationMode.Parallel or CoordinationMode.MasterWorker
                && phase.Remaining > phase.Limit.Limit && phase.Limit.InUse >= phase.Limit.Limit && healthy
                && (total.ErrorRate ?? 0) < 0.1)
            {
                var agentLimit = providers.Select(p => p.Agent.MaxConcurrency).Where(m => m > 0).DefaultIfEmpty(int.MaxValue).Min() * Math.Max(1, providers.Count);
                var raised = Math.Min(Math.Min(Math.Min(phase.Limit.Limit * 2, phase.Remaining), agentLimit), strategy.MaxConcurrency);
                if (raised > phase.Limit.Limit)
                {
                    await ApplyAsync(phase, strategy, "raise-concurrency", $"raise concurrency from {phase.Limit.Limit} to {raised}: {phase.Remaining} items wait, every slot is busy and the agents are healthy", new JsonObject { ["concurrency"] = raised }, ct).ConfigureAwait(false);
                }
            }

            if (phase.TakeTimeouts() is > 0 and var timeouts && strategy.Timeout is { } timeout && strategy.MaxTimeout is { } ceiling && timeout < ceiling)
            {
                var longer = timeout * 2 < ceiling ? timeout * 2 : ceiling;
                await ApplyAsync(phase, strategy, "raise-timeout", $"raise the item timeout from {timeout.TotalMilliseconds:0} ms to {longer.TotalMilliseconds:0} ms: {timeouts} items timed out", new JsonObject { ["timeoutMs"] = longer.TotalMilliseconds }, ct).ConfigureAwait(false);
            }

            if (kind is not null && perAgent.GetValueOrDefault(kind) is { Finished: >= SwapMinimumCalls } calls
                && calls.ErrorRate >= SwapErrorRate
                && Alternative(kind) is { } alternative)
            {
                await QueueAsync(phase, strategy, "swap-agent", $"swap the primary agent of strategy '{strategy.Name}' from {kind} to {alternative}: {kind} failed {calls.Failed} of {calls.Finished} calls", new JsonObject { ["agent"] = alternative }, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Another loaded kind that shares a capability with <paramref name="kind"/>, healthy, first by name.</summary>
    private string? Alternative(string kind)
    {
        var capabilities = run.Agents.FindAgent(kind)?.Capabilities ?? [];
        return capabilities
            .SelectMany(c => run.Agents.KindsFor(c))
            .Where(k => !string.Equals(k, kind, StringComparison.OrdinalIgnoreCase))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.Ordinal)
            .FirstOrDefault(k => run.Agents.FindProviders(k).Any(p => run.Health.StateOf(p.Id) != AgentHealthState.Unhealthy));
    }

    /// <summary>Applies a low-risk change to the running phase and records it, once and only if it took effect (the phase may have switched strategy since the tick read it).</summary>
    private async Task ApplyAsync(PhaseRuntime phase, PhaseStrategy strategy, string kind, string summary, JsonObject change, CancellationToken ct)
    {
        if (!phase.Apply(strategy.Name, change))
        {
            return;
        }

        var recommendation = await StoreAsync(phase, strategy, kind, RecommendationRisk.Low, summary, change, RecommendationStatus.Applied, ct).ConfigureAwait(false);
        run.Log.Information("Optimization applied to phase {Phase}: {Summary}", phase.Name, summary);
        await JournalAsync(recommendation).ConfigureAwait(false);
    }

    private async Task QueueAsync(PhaseRuntime phase, PhaseStrategy strategy, string kind, string summary, JsonObject change, CancellationToken ct)
    {
        if (!_proposed.Add($"{phase.Id}|{strategy.Name}|{kind}|{change.ToJsonString()}"))
        {
            return;
        }

        var recommendation = await StoreAsync(phase, strategy, kind, RecommendationRisk.High, summary, change, RecommendationStatus.Pending, ct).ConfigureAwait(false);
        run.Log.Information("Optimization queued for review (#{Id}) for phase {Phase}: {Summary}", recommendation.Id, phase.Name, summary);
        await JournalAsync(recommendation).ConfigureAwait(false);
    }

    private ValueTask<Recommendation> StoreAsync(PhaseRuntime phase, PhaseStrategy strategy, string kind, RecommendationRisk risk, string summary, JsonObject change, RecommendationStatus status, CancellationToken ct) =>
        run.Learning.AddRecommendationAsync(new Recommendation
        {
            CreatedAt = run.Time.GetUtcNow(),
            RunId = run.Id,
            Phase = phase.Name,
            Strategy = strategy.Name,
            Kind = kind,
            Risk = risk,
            Summary = summary,
            Change = change,
            Status = status,
            DecidedAt = status == RecommendationStatus.Applied ? run.Time.GetUtcNow() : null,
        }, ct);

    private Task JournalAsync(Recommendation recommendation) =>
        run.RecordEventAsync("recommendation", recommendation.Kind, recommendation.Change, recommendation.ToJson());
}
