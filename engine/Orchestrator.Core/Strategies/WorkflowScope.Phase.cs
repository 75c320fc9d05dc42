using System.Globalization;
using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Goals;
using Orchestrator.Core.Health;
using Orchestrator.Core.Learning;
using Orchestrator.Core.Provisioning;
using Orchestrator.Core.Strategies;

namespace Orchestrator.Core.Workflow;

/// <summary>Phases: work items run under a strategy chosen from what earlier runs learned, switched when it stops working.</summary>
public sealed partial class WorkflowScope
{
    private static readonly StepOptions ItemSeverity = new() { Severity = Severity.Critical };

    /// <summary>
    /// Runs phase <paramref name="name"/> (a step of kind <c>phase</c>): chooses a strategy (step <c>strategy</c>, with the
    /// ranking and the system state it was chosen from), splits the task into items (step <c>split</c>, or the task is
    /// the array of items), runs the items under the strategy (steps <c>item-0</c>, <c>item-1</c>…), switches to the next
    /// best strategy when the current one's effectiveness over its latest items falls below its <c>minEffectiveness</c>
    /// (step <c>adapt</c>, and a message on the channel of every agent involved), integrates the results (step
    /// <c>integrate</c>), and records the outcome per strategy and agent for later runs to learn from.
    /// </summary>
    public Task<JsonNode?> PhaseAsync(string name, JsonNode? task, PhasePlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Strategies.Count == 0)
        {
            throw new ArgumentException($"phase '{name}' needs at least one strategy");
        }

        foreach (var strategy in plan.Strategies)
        {
            strategy.Validate(name);
        }

        if (plan.Strategies.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new ArgumentException($"phase '{name}' has two strategies named '{twice.Key}'");
        }

        if (plan.Worker is null && plan.Strategies.FirstOrDefault(s => s.Agent is null) is { } agentless)
        {
            throw new ArgumentException($"phase '{name}', strategy '{agentless.Name}': without a worker function a strategy needs an agent");
        }

        if (plan.Window < 1)
        {
            throw new ArgumentException($"phase '{name}': the effectiveness window must be at least 1 item, not {plan.Window}");
        }

        if (plan.Budget is < 0 or double.NaN)
        {
            throw new ArgumentException($"phase '{name}': a budget must be a number of at least 0, not {plan.Budget}");
        }

        var input = new JsonObject
        {
            ["task"] = task?.DeepClone(),
            ["strategies"] = new JsonArray([.. plan.Strategies.Select(s => (JsonNode)s.ToJson())]),
        };
        PhaseBudget? budget = null;
        if (plan.Budget is { } limit)
        {
            input["budget"] = limit;
            input["overBudget"] = plan.OverBudget.ToString().ToLowerInvariant();

            // Before the step, so that a phase the resume replays whole still has its budget checked at the run's end.
            budget = _run.AddPhaseBudget(PeekId(name), limit, plan.OverBudget);
        }

        return RunStepAsync(name, "phase", null, input, (scope, _, ct) => scope.RunPhaseAsync(name, task, plan, budget, ct), cancellationToken);
    }

    private async Task<JsonNode?> RunPhaseAsync(string phase, JsonNode? task, PhasePlan plan, PhaseBudget? budget, CancellationToken ct)
    {
        // Approved and applied recommendations for this phase tune its strategies before anything is chosen.
        var tunings = (await _run.Learning.ListRecommendationsAsync(ct).ConfigureAwait(false))
            .Where(r => r.InEffect && r.Phase == phase)
            .ToList();
        var candidates = plan.Strategies
            .Select(s => tunings.Where(t => t.Strategy == s.Name).Aggregate(s, (tuned, t) => tuned.With(t.Change)))
            .ToList();
        var learned = await _run.Learning.GetOutcomesAsync(phase, ct).ConfigureAwait(false);
        var recent = await _run.Learning.GetRecentAsync(phase, StrategySelector.History, ct).ConfigureAwait(false);
        var ranking = StrategySelector.Rank(candidates, recent, Unavailable, plan.Exploration, _run.Goals);

        var choice = await RunStepAsync("strategy", "strategy", null, null, (_, _, _) =>
        {
            var best = ranking[0];
            return Task.FromResult<JsonNode?>(new JsonObject
            {
                ["phase"] = phase,
                ["chosen"] = best.Strategy.Name,
                ["strategy"] = best.Strategy.ToJson(),
                ["reason"] = best.Available ? best.Reason : "no strategy is available; trying the first anyway: " + best.Reason,
                ["ranking"] = new JsonArray([.. ranking.Select(r => (JsonNode)r.ToJson())]),
                ["goals"] = _run.Goals.ToJson(),
                ["tunings"] = new JsonArray([.. tunings.Select(t => (JsonNode)t.ToJson())]),
                ["state"] = SystemState(candidates),
            });
        }, ct).ConfigureAwait(false);
        var chosenName = choice?["chosen"]?.GetValue<string>();
        var current = candidates.FirstOrDefault(c => c.Name == chosenName) ?? ranking[0].Strategy;

        var items = await PhaseItemsAsync(task, plan, ct).ConfigureAwait(false);
        var runtime = new PhaseRuntime(StepId ?? phase, phase, current, items.Count);
        _run.Phases[runtime.Id] = runtime;
        try
        {
            var results = await RunPhaseItemsAsync(phase, items, plan, ranking, learned, runtime, ct).ConfigureAwait(false);
            var integrated = plan.Integrate is { } integrate
                ? await RunStepAsync("integrate", "integrate", null, new JsonObject { ["results"] = results.Results.DeepClone() }, (s, _, t) => integrate(s, results.Results.DeepClone().AsArray(), task?.DeepClone(), t), ct).ConfigureAwait(false)
                : results.Results;
            if (results.Failed.Count > 0)
            {
                var spent = budget is { IsSpent: true } ? "; " + budget.Refusal() : "";
                throw new StepDegradedException(Severity.Moderate, $"{results.Failed.Count} of {items.Count} items failed: {string.Join("; ", results.Failed)}{spent}", integrated);
            }

            return integrated;
        }
        finally
        {
            _run.Phases.TryRemove(runtime.Id, out _);
        }

        string? Unavailable(PhaseStrategy strategy) => Missing(strategy.Agent) ?? Missing(strategy.Master);

        string? Missing(string? wanted) => wanted is null || HealthyKind(wanted) is not null
            ? null
            : _run.Agents.KindsFor(wanted).Count == 0
                ? $"no agent of kind or capability '{wanted}' is loaded"
                : $"every agent for '{wanted}' is unhealthy (circuit open)";
    }

    /// <summary>What selection saw: the agents, their health and calls so far, and the run's input.</summary>
    private JsonObject SystemState(IReadOnlyList<PhaseStrategy> candidates)
    {
        var agents = new JsonObject();
        foreach (var kind in candidates.Where(c => c.Agent is not null).SelectMany(c => _run.Agents.KindsFor(c.Agent!)).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            foreach (var provider in _run.Agents.FindProviders(kind))
            {
                var circuit = _run.Health.For(provider.Id);
                agents[provider.Id] = new JsonObject
                {
                    ["health"] = circuit.State.ToString().ToLowerInvariant(),
                    ["successes"] = circuit.Successes,
                    ["failures"] = circuit.Failures,
                    ["capabilities"] = new JsonArray([.. provider.Agent.Capabilities.Select(c => JsonValue.Create(c))]),
                    ["maxConcurrency"] = provider.Agent.MaxConcurrency,
                };
            }
        }

        return new JsonObject { ["agents"] = agents, ["input"] = _run.Input?.DeepClone() };
    }

    /// <summary>The first agent kind for the strategy with a provider that is not unhealthy; null if none.</summary>
    private string? AgentFor(PhaseStrategy strategy) => strategy.Agent is null ? null : HealthyKind(strategy.Agent);

    /// <summary>The first agent kind for a kind or capability with a provider that is not unhealthy; null if none.</summary>
    private string? HealthyKind(string wanted) =>
        _run.Agents.KindsFor(wanted).FirstOrDefault(k => _run.Agents.FindProviders(k).Any(p => _run.Health.StateOf(p.Id) != AgentHealthState.Unhealthy));

    private async Task<IReadOnlyList<JsonNode?>> PhaseItemsAsync(JsonNode? task, PhasePlan plan, CancellationToken ct)
    {
        var items = plan.Split is { } split
            ? await RunStepAsync("split", "split", null, task?.DeepClone(), (s, _, t) => split(s, task?.DeepClone(), t), ct).ConfigureAwait(false)
            : task;
        return items switch
        {
            JsonArray array => [.. array.Select(i => i?.DeepClone())],
            JsonObject o when o["items"] is JsonArray array => [.. array.Select(i => i?.DeepClone())],
            _ => throw new ArgumentException($"a phase's work must be an array of items (or {{ \"items\": [...] }}), not {items?.ToJsonString() ?? "null"}"),
        };
    }

    private sealed record PhaseResults(JsonArray Results, List<string> Failed);

    /// <summary>The error of an item that a moderate budget refused: it was not run.</summary>
    private const string DegradedItem = "not run: a budget is spent";

    /// <param name="Started">When the item started, as a <see cref="TimeProvider"/> timestamp.</param>
    /// <param name="Ended">When it ended, likewise.</param>
    /// <param name="Replayed">From the journal of an earlier attempt of the run: it judges nothing and is not learned again.</param>
    /// <param name="OverBudget">
    /// Refused because a budget is spent: degraded (its agent was never called, and the phase goes on without it) or
    /// failed (critical); either way it says nothing about its strategy, so it judges nothing and is not learned.
    /// </param>
    private sealed record ItemResult(int Index, bool Ok, JsonNode? Output, string? Error, long Started, long Ended, PhaseStrategy Strategy, string? Agent, bool TimedOut, bool Replayed = false, bool OverBudget = false);

    /// <summary>
    /// Time per item as the phase experiences it: the span from the first start to the last end, over the item count.
    /// For one item at a time it is the mean latency; for concurrent items it credits the concurrency, so that a
    /// parallel strategy is judged by its throughput rather than by how long each of its items takes.
    /// </summary>
    private double MsPerItem(IReadOnlyCollection<ItemResult> items) =>
        _run.Time.GetElapsedTime(items.Min(r => r.Started), items.Max(r => r.Ended)).TotalMilliseconds / items.Count;

    private async Task<PhaseResults> RunPhaseItemsAsync(
        string phase, IReadOnlyList<JsonNode?> items, PhasePlan plan, IReadOnlyList<RankedStrategy> ranking, IReadOnlyList<LearnedOutcome> learned, PhaseRuntime runtime, CancellationToken ct)
    {
        var slots = new JsonNode?[items.Count];
        var failed = new SortedDictionary<int, string>();
        var done = new List<ItemResult>(items.Count);
        var abandoned = new HashSet<string>(StringComparer.Ordinal);
        var window = new Queue<ItemResult>();
        double? selfBaseline = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var adapting = new SemaphoreSlim(1, 1);
        Exception? fatal = null;

        async Task OneAsync(int index, PhaseStrategy strategy)
        {
            // The slot frees only once the outcome is judged, so the next item starts under the strategy that judgement left.
            ItemResult result;
            try
            {
                result = await RunItemAsync(index, items[index], plan, strategy, stop.Token).ConfigureAwait(false);
            }
            catch
            {
                runtime.Limit.Release();
                throw;
            }

            await adapting.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                runtime.Finished(result.TimedOut);
                done.Add(result);
                slots[index] = result.Ok ? result.Output?.DeepClone() : new JsonObject { ["error"] = result.Error };
                if (!result.Ok)
                {
                    failed[index] = $"item {index}: {result.Error}";

                    // A degraded item is one a moderate budget refused: the phase goes on without it. A critical
                    // refusal ends the phase even when it continues on failure: the budget is a hard limit.
                    var degraded = result.Error == DegradedItem;
                    if ((!plan.ContinueOnFailure || result.OverBudget) && !degraded && !stop.IsCancellationRequested)
                    {
                        fatal ??= new InvalidOperationException($"item {index} failed: {result.Error}");
                        await stop.CancelAsync().ConfigureAwait(false);
                        return;
                    }
                }

                // Only the current strategy's items judge it; items still finishing under an old one do not, nor do
                // replayed ones, which took no time.
                if (result.Replayed || result.OverBudget || result.Strategy.Name != runtime.Strategy.Name || stop.IsCancellationRequested)
                {
                    return;
                }

                window.Enqueue(result);
                if (window.Count > plan.Window)
                {
                    window.Dequeue();
                }

                if (window.Count < plan.Window)
                {
                    return;
                }

                var baseline = learned.Where(o => o.Strategy == result.Strategy.Name && o.Items > 0).Select(o => (double?)o.MeanItemMs).Average()
                    ?? (selfBaseline ??= MsPerItem(window));
                var score = Effectiveness(window, MsPerItem(window), baseline);
                if (score >= runtime.Strategy.MinEffectiveness)
                {
                    return;
                }

                abandoned.Add(runtime.Strategy.Name);
                var next = ranking.FirstOrDefault(r => r.Available && !abandoned.Contains(r.Strategy.Name) && (r.Strategy.Agent is null || AgentFor(r.Strategy) is not null));
                if (next is null)
                {
                    return;
                }

                await AdaptAsync(phase, runtime, next.Strategy, score, window, baseline).ConfigureAwait(false);
                window.Clear();
                selfBaseline = null;
            }
            finally
            {
                adapting.Release();
                runtime.Limit.Release();
            }
        }

        await ReplayAdaptationsAsync(runtime, ranking, abandoned).ConfigureAwait(false);
        var running = new List<Task>(items.Count);
        try
        {
            for (var i = 0; i < items.Count; i++)
            {
                try
                {
                    await runtime.Limit.WaitAsync(stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    break;
                }

                running.Add(OneAsync(i, runtime.Strategy));
            }
        }
        finally
        {
            try
            {
                await Task.WhenAll(running).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // Items cut short because another failed: that failure is the one to report.
            }
        }

        ct.ThrowIfCancellationRequested();
        _run.Tally.AddItems(done.Count, done.Count(r => !r.Ok));
        await RecordOutcomesAsync(phase, [.. done.Where(r => !r.Replayed && !r.OverBudget)]).ConfigureAwait(false);
        if (fatal is not null)
        {
            throw fatal;
        }

        return new PhaseResults(new JsonArray(slots), [.. failed.Values]);
    }

    /// <summary>
    /// The share of the window's items that succeeded, times how close their mean latency is to the baseline (1 at or
    /// under it), times the inverse of the mean cost when the agents report one (<c>cost</c> in their output).
    /// </summary>
    private static double Effectiveness(IReadOnlyCollection<ItemResult> window, double meanMs, double baselineMs)
    {
        var successRate = window.Count(r => r.Ok) / (double)window.Count;
        var latency = meanMs <= 0 || baselineMs <= 0 ? 1 : Math.Min(1, baselineMs / meanMs);
        var costs = window.Select(r => r.Output is JsonObject o && o["cost"] is JsonValue v && v.TryGetValue<double>(out var c) ? c : (double?)null).Where(c => c is not null).ToList();
        var cost = costs.Count == 0 ? 1 : 1 / (1 + costs.Average()!.Value);
        return successRate * latency * cost;
    }

    private async Task AdaptAsync(string phase, PhaseRuntime runtime, PhaseStrategy next, double score, IReadOnlyCollection<ItemResult> window, double baselineMs)
    {
        var from = runtime.Strategy;
        var input = new JsonObject
        {
            ["phase"] = phase,
            ["from"] = from.Name,
            ["to"] = next.Name,
            ["score"] = Math.Round(score, 4),
            ["minEffectiveness"] = from.MinEffectiveness,
            ["window"] = new JsonObject
            {
                ["items"] = window.Count,
                ["succeeded"] = window.Count(r => r.Ok),
                ["msPerItem"] = Math.Round(MsPerItem(window), 3),
                ["baselineMs"] = Math.Round(baselineMs, 3),
            },
        };
        await RunStepAsync("adapt", "adaptation", null, input, (_, _, _) =>
        {
            var message = new JsonObject { ["phase"] = phase, ["from"] = from.ToJson(), ["to"] = next.ToJson(), ["score"] = Math.Round(score, 4) };
            var involved = new[] { from, next }
                .Select(AgentFor).Concat(window.Select(r => r.Agent))
                .Where(k => k is not null)
                .SelectMany(k => _run.Agents.FindProviders(k!));
            var notified = _run.Channels.Send(involved, AgentMessage.StrategyChanged, message);
            _run.Log.Warning("Phase {Phase} switched from {From} to {To}: effectiveness {Score} below {Minimum}", phase, from.Name, next.Name, score, from.MinEffectiveness);
            var output = input.DeepClone().AsObject();
            output["notified"] = new JsonArray([.. notified.Select(n => JsonValue.Create(n))]);
            return Task.FromResult<JsonNode?>(output);
        }, CancellationToken.None).ConfigureAwait(false);

        // After the step, not in its body: a replayed step's body does not run (see ReplayAdaptationsAsync).
        runtime.Switch(next);
    }

    /// <summary>
    /// On resume, the switches journaled before the interruption, in order: each <c>adapt</c> step is replayed and the
    /// phase goes on under the strategy it switched to, as the <c>strategy</c> step's choice is replayed.
    /// </summary>
    private async Task ReplayAdaptationsAsync(PhaseRuntime runtime, IReadOnlyList<RankedStrategy> ranking, HashSet<string> abandoned)
    {
        while (_run.Resumed && (await _run.TryReplayAsync(PeekId("adapt")).ConfigureAwait(false)).Found)
        {
            var output = await RunStepAsync("adapt", "adaptation", null, null, (_, _, _) => Task.FromResult<JsonNode?>(null), CancellationToken.None).ConfigureAwait(false);
            var to = output?["to"]?.GetValue<string>();
            var next = ranking.Select(r => r.Strategy).FirstOrDefault(s => s.Name == to)
                ?? throw new InvalidOperationException($"the journal switched this phase to strategy '{to}', which the script no longer offers");
            abandoned.Add(runtime.Strategy.Name);
            runtime.Switch(next);
        }
    }

    private async Task<ItemResult> RunItemAsync(int index, JsonNode? item, PhasePlan plan, PhaseStrategy strategy, CancellationToken ct)
    {
        var name = "item-" + index.ToString(CultureInfo.InvariantCulture);
        var agent = AgentFor(strategy);
        if (agent is not null)
        {
            foreach (var provider in _run.Agents.FindProviders(agent))
            {
                _run.Channels.Provision(provider);
            }
        }

        var started = _run.Time.GetTimestamp();
        try
        {
            StepOutcome outcome;
            if (strategy.Mode == CoordinationMode.MasterWorker && strategy.Master is { } wanted)
            {
                // The master splits the item and integrates its subtasks' results; the strategy's agent (or the phase's worker) runs each subtask.
                var master = HealthyKind(wanted) ?? throw new InvalidOperationException($"no healthy agent of kind or capability '{wanted}' is loaded to be the master");
                var output = await MasterWorkerAsync(name, item, new MasterWorkerPlan
                {
                    MasterAgent = master,
                    WorkerAgent = plan.Worker is null ? agent ?? strategy.Agent : null,
                    Worker = plan.Worker is { } subtaskWorker ? (s, subtask, i, t) => subtaskWorker(s, new PhaseWork(subtask, i, strategy, agent), t) : null,
                    Concurrency = strategy.EffectiveConcurrency,
                    Recovery = strategy.Recovery,
                    Timeout = strategy.Timeout,
                }, ct).ConfigureAwait(false);
                outcome = new StepOutcome(name, output, false);
            }
            else if (plan.Worker is { } worker)
            {
                outcome = await RunStepCoreAsync(name, "work", agent, item, async (s, _, t) =>
                {
                    await Task.Yield();
                    return await worker(s, new PhaseWork(item?.DeepClone(), index, strategy, agent), t).ConfigureAwait(false);
                }, ct).ConfigureAwait(false);
            }
            else if (strategy.Mode == CoordinationMode.PeerToPeer)
            {
                var peers = _run.Agents.KindsFor(strategy.Agent!).Select(k => ConsensusPeer.OfAgent(k)).ToList();
                var output = await ConsensusAsync(name, item, new ConsensusPlan { Peers = peers, Recovery = strategy.Recovery, Timeout = strategy.Timeout }, ct).ConfigureAwait(false);
                outcome = new StepOutcome(name, output, false);
            }
            else
            {
                var kind = agent ?? strategy.Agent!;
                var options = ItemSeverity with { Name = name, Recovery = strategy.Recovery, Timeout = strategy.Timeout };
                outcome = await RunStepCoreAsync(name, "work", kind, item, async (s, id, t) =>
                {
                    await Task.Yield();
                    return await s.ExecuteAgentAsync(kind, id, item, options, t).ConfigureAwait(false);
                }, ct).ConfigureAwait(false);
            }

            // Items run with critical severity, so only a spent budget degrades one (a minor one ends succeeded, noted).
            return new ItemResult(index, !outcome.Degraded, outcome.Output, outcome.Degraded ? DegradedItem : null, started, _run.Time.GetTimestamp(), strategy, agent, false, outcome.Replayed, OverBudget: outcome.Degraded || outcome.OverBudget);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            var reason = ex is StepFailedException failed ? failed.Reason : ex.Message;
            var timedOut = reason.Contains("timed out", StringComparison.Ordinal);
            return new ItemResult(index, false, null, reason, started, _run.Time.GetTimestamp(), strategy, agent, timedOut, OverBudget: RefusedForBudget(ex));
        }
    }

    /// <summary>Whether a failed item's cause is a call a critical budget refused: its own, or one its worker function let through.</summary>
    private static bool RefusedForBudget(Exception? error)
    {
        for (; error is not null; error = error.InnerException)
        {
            if (error is AgentFailedException { OverBudget: true })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Adds what each strategy did in this phase to the store's learning, per agent.</summary>
    private async Task RecordOutcomesAsync(string phase, IReadOnlyList<ItemResult> done)
    {
        foreach (var group in done.GroupBy(r => (r.Strategy.Name, Agent: r.Agent ?? r.Strategy.Agent ?? "script")))
        {
            var failedItems = group.Count(r => !r.Ok);
            var outcome = new PhaseOutcome(phase, group.Key.Name, group.Key.Agent, failedItems == 0, group.Count(), failedItems, MsPerItem([.. group]) * group.Count(), _run.Time.GetUtcNow())
            {
                RunId = _run.Id,
                Cost = group.Sum(r => Goals.GoalTally.CostOf(r.Output)),
            };
            await _run.Learning.RecordOutcomeAsync(outcome, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
