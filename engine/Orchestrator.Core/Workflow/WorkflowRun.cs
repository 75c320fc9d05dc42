using System.Text.Json.Nodes;
using Orchestrator.Core.Health;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Reporting;
using Serilog;

namespace Orchestrator.Core.Workflow;

/// <summary>The state one run shares between its scopes: identity, journal, agents, clock, replay and defaults.</summary>
internal sealed class WorkflowRun
{
    private readonly IReadOnlyDictionary<string, StepRecord> _previous;
    private readonly List<Compensation> _compensations = [];
    private long _seq;

    public WorkflowRun(
        string id,
        JsonNode? input,
        IJournal journal,
        IAgentRegistry agents,
        IReportWriter? reports,
        TimeProvider time,
        ILogger log,
        CancellationToken cancellation,
        IReadOnlyList<JournalEntry>? history = null)
    {
        Id = id;
        Input = input;
        Journal = journal;
        Agents = agents;
        Reports = reports;
        Time = time;
        Log = log;
        Cancellation = cancellation;
        history ??= [];
        _seq = history.Count == 0 ? 0 : history.Max(e => e.Seq);
        _previous = StepFolding.Fold(history).ToDictionary(s => s.Id, StringComparer.Ordinal);
        Root = new WorkflowScope(this, path: null);
    }

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

    /// <summary>The host's MCP servers; null when none are configured.</summary>
    public Mcp.McpCoordinator? Mcp { get; init; }

    /// <summary>The recovery chain of agent steps that do not name their own.</summary>
    public RecoveryChain DefaultRecovery { get; set; } = RecoveryChain.None;

    /// <summary>The per-attempt timeout of agent steps that do not give their own.</summary>
    public TimeSpan? DefaultStepTimeout { get; set; }

    /// <summary>The script's rule for the severity of failures.</summary>
    public FailureClassifier? Classifier { get; set; }

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
    public bool TryReplay(string stepId, out StepRecord finished)
    {
        if (_previous.TryGetValue(stepId, out finished!) && finished.Status is RunStatus.Succeeded or RunStatus.Degraded)
        {
            return true;
        }

        finished = null!;
        return false;
    }

    /// <summary>The attempt number for a step: one more than an earlier, unfinished attempt of it.</summary>
    public int AttemptFor(string stepId) => _previous.TryGetValue(stepId, out var earlier) ? earlier.Attempt + 1 : 1;

    public ValueTask AppendAsync(string stepId, StepEvent kind, string? parentId, string name, string stepKind, string? agent, int attempt, JsonNode? payload, string? error)
    {
        var entry = new JournalEntry(Id, Interlocked.Increment(ref _seq), stepId, kind, parentId, name, stepKind, agent, attempt, payload, error, Time.GetUtcNow());

        // Appends are not cancellable: a step that ran is recorded even when the run is being cancelled.
        return Journal.AppendAsync(entry, CancellationToken.None);
    }
}

/// <summary>A finished step and how to undo it.</summary>
internal sealed record Compensation(string StepId, string? ParentId, string Name, string Kind, string? Agent, Func<WorkflowScope, CancellationToken, Task> Undo);
