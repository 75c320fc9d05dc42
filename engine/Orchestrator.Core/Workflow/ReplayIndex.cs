using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Workflow;

/// <summary>
/// What a resumed run knows of its earlier attempts: for each step id, how it last ended, its attempt, and where in
/// the journal its output is. The outputs stay in the journal until the script reaches the step again, so a resume
/// holds one small entry per step, never every output.
/// </summary>
internal sealed class ReplayIndex
{
    private readonly Dictionary<string, Entry> _steps;
    private readonly IJournal? _journal;
    private readonly string _runId;

    // The cost each step that called an agent reported, over all its earlier attempts: what the run had spent.
    private readonly Dictionary<string, double> _costs;

    private ReplayIndex(string runId, IJournal? journal, Dictionary<string, Entry> steps, long lastSeq, int monitorEvents, Dictionary<string, double> costs)
    {
        _runId = runId;
        _journal = journal;
        _steps = steps;
        _costs = costs;
        LastSeq = lastSeq;
        MonitorEvents = monitorEvents;
        Steps = steps.Count;
        Cost = costs.Values.Sum();
    }

    /// <summary>A new run's: nothing to replay.</summary>
    public static ReplayIndex Empty(string runId) => new(runId, null, new Dictionary<string, Entry>(StringComparer.Ordinal), 0, 0, new Dictionary<string, double>(StringComparer.Ordinal));

    /// <summary>
    /// The kinds of step whose body calls an agent itself: the output a step of one of them ends with is its agent's
    /// (the <c>llm</c> agent's <c>usage</c>), read back on resume so that budgets count what was spent before.
    /// </summary>
    private static readonly HashSet<string> AgentCallKinds = new(["agent", "attempt", "work", "subtask", "split", "integrate"], StringComparer.Ordinal);

    /// <summary>Reads the run's journal once, without its payloads but the outputs of agent calls, whose cost it keeps.</summary>
    public static async Task<ReplayIndex> LoadAsync(IJournal journal, string runId, CancellationToken cancellationToken)
    {
        var steps = new Dictionary<string, Entry>(StringComparer.Ordinal);
        long lastSeq = 0;
        var monitorEvents = 0;
        var costs = new Dictionary<string, double>(StringComparer.Ordinal);
        var parents = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var row in journal.ReadAsync(runId, SpentCost, cancellationToken).ConfigureAwait(false))
        {
            var e = row.Entry;
            if (e.ParentId is { } parent)
            {
                parents.Add(parent);
            }

            // Every end counts, not only the last: an attempt that failed after its agent answered still spent.
            if (e.Event != StepEvent.Started && e.Agent is not null && Goals.GoalTally.CostOf(e.Payload) is > 0 and var cost)
            {
                costs[e.StepId] = costs.GetValueOrDefault(e.StepId) + cost;
            }

            lastSeq = Math.Max(lastSeq, e.Seq);
            if (e.Event == StepEvent.Started && e.StepId.StartsWith(WorkflowRun.EventPrefix, StringComparison.Ordinal))
            {
                monitorEvents++;
            }

            // As the fold of the whole journal would have it: a later start begins a new attempt, the last end counts.
            steps.TryGetValue(e.StepId, out var step);
            steps[e.StepId] = e.Event switch
            {
                StepEvent.Started => new Entry(RunStatus.Running, e.Attempt, 0),
                StepEvent.Succeeded => step with { Status = RunStatus.Succeeded, OutputSeq = row.PayloadChars > 0 ? e.Seq : 0 },
                StepEvent.Degraded => step with { Status = RunStatus.Degraded, OutputSeq = row.PayloadChars > 0 ? e.Seq : 0 },
                StepEvent.Compensated => step with { Status = RunStatus.Compensated },
                _ => step with { Status = RunStatus.Failed },
            };
        }

        // A step with steps under it passed on what they spent (a recovered step returns its attempt's output): only leaves count.
        foreach (var parent in parents)
        {
            costs.Remove(parent);
        }

        return new ReplayIndex(runId, journal, steps, lastSeq, monitorEvents, costs);
    }

    /// <summary>Reads only the outputs that may say what an agent call cost.</summary>
    private static PayloadRead SpentCost(string stepId, StepEvent kind, string stepKind) =>
        kind != StepEvent.Started && AgentCallKinds.Contains(stepKind) ? PayloadRead.Full : PayloadRead.Skip;

    /// <summary>What the run's agents reported as cost in its earlier attempts.</summary>
    public double Cost { get; }

    /// <summary>What the agents called under step <paramref name="stepId"/> reported as cost in the earlier attempts.</summary>
    public double CostUnder(string stepId)
    {
        if (_costs.Count == 0)
        {
            return 0;
        }

        var inside = stepId + "/";
        return _costs.Where(c => c.Key.StartsWith(inside, StringComparison.Ordinal)).Sum(c => c.Value);
    }

    /// <summary>The highest sequence number the run's journal has.</summary>
    public long LastSeq { get; }

    /// <summary>The steps the earlier attempts journaled.</summary>
    public int Steps { get; }

    /// <summary>The things the engine noticed on its own in earlier attempts (anomalies, reloads), so that new ones are numbered after them.</summary>
    public int MonitorEvents { get; }

    public bool Contains(string stepId)
    {
        lock (_steps)
        {
            return _steps.ContainsKey(stepId);
        }
    }

    /// <summary>The attempt number for a step: one more than an earlier, unfinished attempt of it.</summary>
    public int AttemptFor(string stepId)
    {
        lock (_steps)
        {
            return _steps.TryGetValue(stepId, out var step) ? step.Attempt + 1 : 1;
        }
    }

    /// <summary>A step that finished (succeeded or degraded) in an earlier attempt: its journaled output, read now.</summary>
    public async ValueTask<(bool Found, RunStatus Status, JsonNode? Output)> TryReplayAsync(string stepId, CancellationToken cancellationToken)
    {
        Entry step;
        lock (_steps)
        {
            if (!_steps.TryGetValue(stepId, out step) || step.Status is not (RunStatus.Succeeded or RunStatus.Degraded))
            {
                return default;
            }
        }

        var output = step.OutputSeq == 0 ? null : await _journal!.GetPayloadAsync(_runId, step.OutputSeq, cancellationToken).ConfigureAwait(false);
        return (true, step.Status, output);
    }

    private readonly record struct Entry(RunStatus Status, int Attempt, long OutputSeq);
}
