using System.Text.Json.Nodes;
using Orchestrator.Core.Goals;
using Orchestrator.Core.Strategies;
using Orchestrator.Core.Verbs;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Scripting.CSharp;

/// <summary>
/// Phases, strategies and the monitor in C#:
/// <c>await Phase("summarize", items, new[] { Strategy("fast", agent: "quick", mode: "parallel", concurrency: 4, minEffectiveness: 0.6), Strategy("careful", agent: "thorough") })</c>.
/// </summary>
public sealed partial class WorkflowGlobals
{
    /// <summary>
    /// Runs a phase: chooses one of <paramref name="strategies"/> from what earlier runs learned, runs each item of
    /// <paramref name="items"/> (or of what <paramref name="split"/> makes of them) on the strategy's agent, or with
    /// <paramref name="worker"/>, switches strategy when the current one's effectiveness over the last
    /// <paramref name="window"/> items drops below its minimum, and returns the results in item order (or what
    /// <paramref name="integrate"/> makes of them). Once its agents have reported more cost than <paramref name="budget"/>,
    /// the phase's further agent calls fail with <paramref name="overBudget"/> (critical, moderate or minor).
    /// </summary>
    public Task<JsonNode?> Phase(
        string name,
        object? items,
        PhaseStrategy[] strategies,
        Func<JsonNode?, object?>? split = null,
        Func<JsonArray, object?>? integrate = null,
        int window = VerbDefaults.PhaseWindow,
        double exploration = VerbDefaults.PhaseExploration,
        bool continueOnFailure = VerbDefaults.ContinueOnFailure,
        double? budget = null,
        string overBudget = VerbDefaults.OverBudget) =>
        RunPhase(name, items, strategies, null, split, integrate, window, exploration, continueOnFailure, budget, overBudget);

    /// <summary>A phase whose items are done by script code: <paramref name="worker"/> gets each item with the strategy and agent chosen for it.</summary>
    public Task<JsonNode?> Phase<T>(
        string name,
        object? items,
        PhaseStrategy[] strategies,
        Func<PhaseWork, Task<T>> worker,
        Func<JsonNode?, object?>? split = null,
        Func<JsonArray, object?>? integrate = null,
        int window = VerbDefaults.PhaseWindow,
        double exploration = VerbDefaults.PhaseExploration,
        bool continueOnFailure = VerbDefaults.ContinueOnFailure,
        double? budget = null,
        string overBudget = VerbDefaults.OverBudget)
    {
        ArgumentNullException.ThrowIfNull(worker);
        return RunPhase(name, items, strategies, (scope, work, _) => InScope(scope, () => worker(work)), split, integrate, window, exploration, continueOnFailure, budget, overBudget);
    }

    private Task<JsonNode?> RunPhase(
        string name,
        object? items,
        PhaseStrategy[] strategies,
        Func<WorkflowScope, PhaseWork, CancellationToken, Task<JsonNode?>>? worker,
        Func<JsonNode?, object?>? split,
        Func<JsonArray, object?>? integrate,
        int window,
        double exploration,
        bool continueOnFailure,
        double? budget,
        string overBudget)
    {
        var options = Read(DslVerbs.Phase, ("window", window), ("exploration", exploration), ("continueOnFailure", continueOnFailure), ("budget", budget), ("overBudget", overBudget));
        var plan = new PhasePlan
        {
            Strategies = strategies,
            Worker = worker,
            Split = split is null ? null : (scope, task, _) => InScope(scope, () => Task.FromResult(split(task))),
            Integrate = integrate is null ? null : (scope, results, _, _) => InScope(scope, () => Task.FromResult(integrate(results))),
            Window = options.Get<int>("window"),
            Exploration = options.Get<double>("exploration"),
            ContinueOnFailure = options.Get<bool>("continueOnFailure"),
            Budget = options.Optional<double>("budget"),
            OverBudget = PhaseBudget.SeverityOf(options),
        };
        return Scope.PhaseAsync(name, ToJson(items), plan, CancellationToken);
    }

    /// <summary>
    /// A candidate strategy for a phase: <paramref name="mode"/> is <c>sequential</c>, <c>parallel</c>, <c>master-worker</c>
    /// or <c>peer-to-peer</c>; <paramref name="agent"/> a kind or a capability; the phase leaves it for the next best
    /// when its effectiveness (0 to 1) falls below <paramref name="minEffectiveness"/>. In master-worker mode a
    /// <paramref name="master"/> (a kind or a capability) splits each item into subtasks for the workers and integrates their results.
    /// </summary>
    public PhaseStrategy Strategy(
        string name,
        string? agent = null,
        string mode = "sequential",
        int concurrency = 1,
        TimeSpan? timeout = null,
        RecoveryChain? recovery = null,
        double minEffectiveness = 0,
        string? master = null) => new()
        {
            Name = name,
            Agent = agent,
            Mode = PhaseStrategy.ParseMode(mode),
            Concurrency = concurrency,
            Timeout = timeout,
            Recovery = recovery,
            MinEffectiveness = minEffectiveness,
            Master = master,
        };

    /// <summary>Handles the run's anomalies (replacing the default handlers); what the handler returns is journaled with the anomaly.</summary>
    public void OnAnomaly(Func<JsonNode, object?> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Scope.OnAnomaly((anomaly, _) => Task.FromResult(ToJson(handler(anomaly))));
    }

    /// <summary>An asynchronous anomaly handler.</summary>
    public void OnAnomaly<T>(Func<JsonNode, Task<T>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Scope.OnAnomaly(async (anomaly, _) => ToJson(await handler(anomaly).ConfigureAwait(false)));
    }

    /// <summary>
    /// Tunes the circuit breakers of an agent kind (every kind when <paramref name="agent"/> is null): the share of failed
    /// calls in the window that opens one (default 0.5), the calls needed first (3), the window (30 s) and how long an
    /// open circuit fails calls fast before a trial call (30 s). Circuits are the engine's: in a host the change holds for every run.
    /// </summary>
    public void ConfigureCircuits(string? agent = null, double? failureRatio = null, int? minimumThroughput = null, TimeSpan? window = null, TimeSpan? openFor = null)
    {
        var options = Read(DslVerbs.ConfigureCircuits, ("agent", agent), ("failureRatio", failureRatio), ("minimumThroughput", minimumThroughput), ("windowMs", window), ("openForMs", openFor));
        Scope.ConfigureCircuits(options.Text("agent"), options.Optional<double>("failureRatio"), options.Optional<int>("minimumThroughput"), options.Optional<TimeSpan>("windowMs"), options.Optional<TimeSpan>("openForMs"));
    }

    /// <summary>Sets how often the monitor samples (default 10 s), how often the optimization loop looks (default 60 s), and the anomaly z-score threshold (default 3).</summary>
    public void ConfigureMonitor(TimeSpan? interval = null, TimeSpan? optimizeEvery = null, double? threshold = null)
    {
        var options = Read(DslVerbs.ConfigureMonitor, ("intervalMs", interval), ("optimizeEveryMs", optimizeEvery), ("threshold", threshold));
        Scope.ConfigureMonitor(options.Optional<TimeSpan>("intervalMs"), options.Optional<TimeSpan>("optimizeEveryMs"), options.Optional<double>("threshold"));
    }
}
