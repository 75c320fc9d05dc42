using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Orchestrator.Core.Connectors;
using Orchestrator.Core.Health;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Learning;
using Orchestrator.Core.Monitoring;
using Orchestrator.Core.Provisioning;
using Orchestrator.Core.Strategies;
using Orchestrator.Core.Reporting;
using Serilog;

namespace Orchestrator.Core.Workflow;

/// <summary>The state one run shares between its scopes: identity, journal, agents, clock, replay and defaults.</summary>
internal sealed class WorkflowRun
{
    private readonly ReplayIndex _previous;
    private readonly List<Compensation> _compensations = [];
    private long _seq;

    // Numbers an event and hands it to the journal in one step, so the journal takes each run's events in seq order and
    // can chain them as numbered (see JournalChain); concurrent steps would otherwise hand them over in either order.
    private readonly Lock _append = new();
    private int _events;
    private int _newSteps;

    public WorkflowRun(
        string id,
        JsonNode? input,
        IJournal journal,
        IAgentRegistry agents,
        IReportWriter? reports,
        TimeProvider time,
        ILogger log,
        CancellationToken cancellation,
        ReplayIndex? history = null)
    {
        Id = id;
        Input = input;
        Journal = journal;
        Agents = agents;
        Reports = reports;
        Time = time;
        Log = log;
        Cancellation = cancellation;
        _previous = history ?? ReplayIndex.Empty(id);
        _seq = _previous.LastSeq;
        Root = new WorkflowScope(this, path: null);
        Channels = new AgentChannels(id, log);
        Metrics = new RunMetrics(time);
        _events = _previous.MonitorEvents;
        Tally.AddCost(_previous.Cost);
    }

    /// <summary>What the run is trying to achieve: the defaults until the script states its goals.</summary>
    public Goals.RunGoals Goals { get; set; } = Orchestrator.Core.Goals.RunGoals.Default;

    /// <summary>The script stated goals, so the run's end checks them.</summary>
    public bool GoalsStated { get; set; }

    /// <summary>The figures the goals are checked against, counted as the run goes.</summary>
    public Goals.GoalTally Tally { get; } = new();

    /// <summary>The budgets of the run's phases that have one, in the order the phases started.</summary>
    public IReadOnlyList<Goals.PhaseBudget> PhaseBudgets => Volatile.Read(ref _phaseBudgets);

    // Copied on write: phases with a budget are few, and every agent call reads the list.
    private Goals.PhaseBudget[] _phaseBudgets = [];
    private readonly Lock _budgetsGate = new();

    /// <summary>Gives phase <paramref name="stepId"/> its budget, counting what its agents spent in the run's earlier attempts.</summary>
    public Goals.PhaseBudget AddPhaseBudget(string stepId, double limit, Orchestrator.Abstractions.Severity overBudget)
    {
        var budget = new Goals.PhaseBudget(stepId, limit, overBudget, _previous.CostUnder(stepId));
        lock (_budgetsGate)
        {
            _phaseBudgets = [.. _phaseBudgets, budget];
        }

        return budget;
    }

    /// <summary>The parent of the steps the engine journals on its own (anomalies, recommendations).</summary>
    public const string EventPrefix = "@monitor/";

    public string Id { get; }

    public JsonNode? Input { get; }

    public IJournal Journal { get; }

    public IAgentRegistry Agents { get; }

    public IReportWriter? Reports { get; }

    public TimeProvider Time { get; }

    public ILogger Log { get; }

    public CancellationToken Cancellation { get; }

    public WorkflowScope Root { get; }

    /// <summary>The agents' circuit breakers; shared by every run of the engine, since health outlives a run.</summary>
    public AgentHealthBook Health { get; init; } = null!;

    /// <summary>Agents' declared concurrency limits; shared by every run of the engine, like health.</summary>
    public AgentGates Gates { get; init; } = null!;

    /// <summary>The external systems the script can call; shared by every run of the engine, like health.</summary>
    public ConnectorSet Connectors { get; init; } = null!;

    /// <summary>The message channels of the agents this run provisioned.</summary>
    public AgentChannels Channels { get; }

    /// <summary>What the engine learned in earlier runs; kept in the journal's store.</summary>
    public ILearningStore Learning => Journal.Learning;

    /// <summary>The phases running now, by step id, for the monitor and the optimization loop.</summary>
    public ConcurrentDictionary<string, PhaseRuntime> Phases { get; } = new(StringComparer.Ordinal);

    /// <summary>The agent-step measurements the monitor and the optimization loop read.</summary>
    public RunMetrics Metrics { get; }

    /// <summary>Hears every event as it is appended: the CLI's live progress.</summary>
    public Action<JournalEntry>? OnEvent { get; init; }

    /// <summary>The run's monitor, once the engine has started it.</summary>
    public RunMonitor? Monitor { get; set; }

    /// <summary>The script's anomaly handlers; with none, the monitor's defaults apply.</summary>
    public List<AnomalyHandler> AnomalyHandlers { get; } = [];

    /// <summary>The host's MCP servers; null when none are configured.</summary>
    public Mcp.McpCoordinator? Mcp { get; init; }

    /// <summary>The recovery chain of agent steps that do not name their own.</summary>
    public RecoveryChain DefaultRecovery { get; set; } = RecoveryChain.None;

    /// <summary>The per-attempt timeout of agent steps that do not give their own.</summary>
    public TimeSpan? DefaultStepTimeout { get; set; }

    /// <summary>The script's rule for the severity of failures.</summary>
    public FailureClassifier? Classifier { get; set; }

    /// <summary>A sleep with more left than this parks the run instead of holding it; null never parks a sleep.</summary>
    public TimeSpan? ParkLongerThan { get; init; }

    /// <summary>The wait the run parked on, once a wait step found nothing to return: the run then ends as waiting.</summary>
    public Waits.WaitRecord? Parked => Volatile.Read(ref _parked);

    private Waits.WaitRecord? _parked;

    /// <summary>Parks the run on <paramref name="wait"/>; the first wait to park is the one the run reports.</summary>
    public void Park(Waits.WaitRecord wait) => Interlocked.CompareExchange(ref _parked, wait, null);

    /// <summary>Remembers how to undo a finished step, until the next checkpoint.</summary>
    public void RegisterCompensation(Compensation compensation)
    {
        lock (_compensations)
        {
            _compensations.Add(compensation);
        }
    }

    /// <summary>A checkpoint is the last known good state: what finished before it is never rolled back.</summary>
    public void ClearCompensations()
    {
        lock (_compensations)
        {
            _compensations.Clear();
        }
    }

    /// <summary>Takes the compensations since the last checkpoint, newest first.</summary>
    public IReadOnlyList<Compensation> TakeCompensations()
    {
        lock (_compensations)
        {
            var taken = Enumerable.Reverse(_compensations).ToList();
            _compensations.Clear();
            return taken;
        }
    }

    /// <summary>
    /// A step that finished in an earlier attempt of this run (before a crash or a cancel) returns its
    /// journaled outcome instead of running again; that is what makes resume cheap and exactly-once for finished work.
    /// </summary>
    public ValueTask<(bool Found, RunStatus Status, JsonNode? Output)> TryReplayAsync(string stepId) =>
        _previous.TryReplayAsync(stepId, Cancellation);

    /// <summary>The run has earlier attempts whose finished steps replay.</summary>
    public bool Resumed => _previous.Steps > 0;

    /// <summary>The steps of the run so far: those of earlier attempts and those this attempt started.</summary>
    public int StepCount => _previous.Steps + Volatile.Read(ref _newSteps);

    /// <summary>The attempt number for a step: one more than an earlier, unfinished attempt of it.</summary>
    public int AttemptFor(string stepId) => _previous.Steps == 0 ? 1 : _previous.AttemptFor(stepId);

    /// <summary>
    /// Journals something the engine noticed on its own as a step of <paramref name="kind"/> under <see cref="EventPrefix"/>,
    /// numbered so that a resumed run never takes it for one of its own steps to replay.
    /// </summary>
    public async Task RecordEventAsync(string kind, string name, JsonNode? input, JsonNode? output, string? error = null)
    {
        var id = EventPrefix + kind + "-" + Interlocked.Increment(ref _events).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await AppendAsync(id, StepEvent.Started, null, name, kind, null, 1, input, null).ConfigureAwait(false);
        await AppendAsync(id, error is null ? StepEvent.Succeeded : StepEvent.Failed, null, name, kind, null, 1, output, error).ConfigureAwait(false);
    }

    /// <summary>Journals one event of a step; an end gives <paramref name="startedAt"/>, the <see cref="TimeProvider.GetTimestamp"/> of its start, for the metrics.</summary>
    public ValueTask AppendAsync(string stepId, StepEvent kind, string? parentId, string name, string stepKind, string? agent, int attempt, JsonNode? payload, string? error, long startedAt = 0)
    {
        JournalEntry entry;
        ValueTask appended;
        lock (_append)
        {
            entry = new JournalEntry(Id, ++_seq, stepId, kind, parentId, name, stepKind, agent, attempt, payload, error, Time.GetUtcNow());

            // Appends are not cancellable: a step that ran is recorded even when the run is being cancelled.
            appended = Journal.AppendAsync(entry, CancellationToken.None);
        }

        Metrics.Observe(in entry, startedAt);
        if (kind == StepEvent.Started && (_previous.Steps == 0 || !_previous.Contains(stepId)))
        {
            Interlocked.Increment(ref _newSteps);
        }

        OnEvent?.Invoke(entry);
        return appended;
    }
}

/// <summary>A finished step and how to undo it.</summary>
internal sealed record Compensation(string StepId, string? ParentId, string Name, string Kind, string? Agent, Func<WorkflowScope, CancellationToken, Task> Undo);
