using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Reporting;

/// <summary>
/// What a report says about a run's steps besides the steps it lists one by one: the counts, the steps grouped by
/// their <see cref="StepPattern"/>, the failures (up to <see cref="StepDigestBuilder.FailureLimit"/>), and the steps
/// the engine decided or noticed on its own (strategies, adaptations, anomalies, recommendations, quality checks,
/// handoffs). Its size depends on the shape of a run, not on how many steps it ran.
/// </summary>
internal sealed record StepDigest(
    IReadOnlyDictionary<RunStatus, long> Counts,
    IReadOnlyList<StepGroup> Groups,
    long StepsOmitted,
    IReadOnlyList<StepRecord> Failures,
    long FailuresOmitted,
    IReadOnlyList<StepRecord> Notable)
{
    /// <summary>The kinds of step kept in <see cref="Notable"/> whatever the size of the run.</summary>
    public static bool IsNotable(string kind) =>
        kind is "strategy" or "adaptation" or "anomaly" or "recommendation" or QaCheckResult.StepKind or "handoff" or "decision" or "goal-check";

    public long Total => Counts.Values.Sum();

    /// <summary>The digest of steps that are all at hand (a small run, a package read back from its JSON).</summary>
    public static StepDigest Of(IReadOnlyList<StepRecord> steps)
    {
        var builder = new StepDigestBuilder();
        foreach (var step in steps)
        {
            builder.AddFinished(step);
        }

        return builder.Build(listed: steps.Count);
    }
}

/// <summary>The steps of one <see cref="StepPattern"/>: how many ended how, and how long they took.</summary>
internal sealed record StepGroup(
    string Pattern,
    string Kind,
    string? Agent,
    long Count,
    IReadOnlyDictionary<RunStatus, long> Statuses,
    double? P50Ms,
    double? P95Ms,
    double? MaxMs);

/// <summary>
/// Builds a <see cref="StepDigest"/> and the list of steps a report shows from a run's journal events, read once in
/// order. It holds the steps in flight, the first step of each group and the listed failures, so a run of a million
/// steps is digested in the memory of a few thousand. Small runs (up to <see cref="ListLimit"/> steps) keep every
/// step, as the fold of the whole journal would.
/// </summary>
internal sealed class StepDigestBuilder
{
    /// <summary>A run with more steps than this lists only the steps that are alone in their group; the rest are counted in groups.</summary>
    public const int ListLimit = 500;

    /// <summary>Failed steps listed one by one; the rest are counted.</summary>
    public const int FailureLimit = 100;

    /// <summary>Groups kept by pattern; steps of further patterns are counted in one group, <see cref="OtherPattern"/>.</summary>
    public const int GroupLimit = 1000;

    /// <summary>Notable steps (see <see cref="StepDigest.IsNotable"/>) kept; a run past it is broken anyway, and the journal has them all.</summary>
    public const int NotableLimit = 2000;

    public const string OtherPattern = "(other steps)";

    private readonly Dictionary<string, StepFold> _open = new(StringComparer.Ordinal);

    // Steps that ended failed or were compensated, which a resume may run again: their group and status, to take back.
    // The step itself only while every step is listed (it keeps its place in the list).
    private readonly Dictionary<string, (RunStatus Status, StepFold? Step)> _mayRunAgain = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tally> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<RunStatus, long> _counts = [];
    private readonly List<StepRecord> _failures = [];
    private readonly List<StepFold> _notable = [];
    private List<StepFold>? _all = [];
    private Dictionary<string, StepFold>? _allById = new(StringComparer.Ordinal);
    private long _failuresSeen;

    /// <summary>What the reader should fetch of an event's payload: previews while every step is listed, else only for the steps a report shows.</summary>
    public PayloadRead PayloadFor(string stepId, StepEvent kind, string stepKind)
    {
        if (StepDigest.IsNotable(stepKind))
        {
            return PayloadRead.Full;
        }

        if (_all is not null || kind == StepEvent.Failed)
        {
            return PayloadRead.Preview;
        }

        // The first step of a pattern may be the one a report lists for it.
        var pattern = kind != StepEvent.Started && _open.TryGetValue(stepId, out var open) ? open.Pattern : PatternOf(stepId);
        return _groups.ContainsKey(pattern) ? PayloadRead.Skip : PayloadRead.Preview;
    }

    public void Add(in JournalRow row)
    {
        var e = row.Entry;
        switch (e.Event)
        {
            case StepEvent.Started:
                Start(in row);
                break;
            case StepEvent.Compensated:
                Compensate(e);
                break;
            default:
                if (!_open.Remove(e.StepId, out var step))
                {
                    // An end without a start (a journal cut short at its head): the end is all there is.
                    step = new StepFold(e, PatternOf(e.StepId));
                }

                step.Apply(in row);
                Settle(step);
                break;
        }
    }

    /// <summary>Adds a step already folded (a package read back from its JSON).</summary>
    public void AddFinished(StepRecord record) => Settle(new StepFold(record));

    /// <summary>The digest and the steps a report lists, with steps still open counted as running: every step of a small run; of a big one, those alone in their group (the run's outline).</summary>
    public (StepDigest Digest, IReadOnlyList<StepRecord> Listed) Finish()
    {
        var digest = Build(listed: 0);
        IReadOnlyList<StepRecord> listed = _all is not null
            ? [.. _all.Select(s => s.ToRecord())]
            : [.. _groups.Values.Where(t => t.Count == 1 && t.First is not null).Select(t => t.First!).OrderBy(s => s.Seq)];
        return (digest with { StepsOmitted = Math.Max(0, digest.Total - listed.Count) }, listed);
    }

    /// <summary>The digest, with steps still open counted as running; <paramref name="listed"/> is how many steps the report lists one by one.</summary>
    public StepDigest Build(long listed)
    {
        foreach (var step in _open.Values)
        {
            Settle(step);
        }

        _open.Clear();
        var counts = _counts.Where(c => c.Value != 0).ToDictionary(c => c.Key, c => c.Value);
        return new StepDigest(
            counts,
            [.. _groups.Values.Select(t => t.ToGroup())],
            Math.Max(0, counts.Values.Sum() - listed),
            _failures,
            Math.Max(0, _failuresSeen - _failures.Count),
            [.. _notable.Select(s => s.ToRecord())]);
    }

    private void Start(in JournalRow row)
    {
        var e = row.Entry;
        if (_open.TryGetValue(e.StepId, out var step))
        {
            // Started again after a crash left it unfinished: it was never counted.
            step.Apply(in row);
            return;
        }

        if (_mayRunAgain.Remove(e.StepId, out var earlier))
        {
            // A failed or compensated step run again (a resume): its earlier end no longer counts.
            GroupOfStep(e.StepId, e.Kind, e.Agent).Remove(earlier.Status);
            _counts[earlier.Status]--;
            if (earlier.Status == RunStatus.Failed)
            {
                _failuresSeen--;
                _failures.RemoveAll(f => f.Id == e.StepId);
            }

            step = earlier.Step ?? new StepFold(e, PatternOf(e.StepId));
        }
        else
        {
            step = new StepFold(e, PatternOf(e.StepId));
            if (_all is not null && _all.Count < ListLimit)
            {
                _all.Add(step);
                _allById![e.StepId] = step;
            }
            else
            {
                _all = null;
                _allById = null;
            }
        }

        step.Apply(in row);
        _open[e.StepId] = step;
    }

    /// <summary>Only succeeded steps are compensated (a degraded one registers no undo): it moves from succeeded to compensated.</summary>
    private void Compensate(JournalEntry e)
    {
        GroupOfStep(e.StepId, e.Kind, e.Agent).Shift(RunStatus.Succeeded, RunStatus.Compensated);
        _counts[RunStatus.Succeeded] = _counts.GetValueOrDefault(RunStatus.Succeeded) - 1;
        _counts[RunStatus.Compensated] = _counts.GetValueOrDefault(RunStatus.Compensated) + 1;
        var step = _allById?.GetValueOrDefault(e.StepId);
        step?.Apply(new JournalRow(e, 0, false));
        _mayRunAgain[e.StepId] = (RunStatus.Compensated, step);
    }

    private void Settle(StepFold step)
    {
        _counts[step.Status] = _counts.GetValueOrDefault(step.Status) + 1;
        GroupOf(step.Pattern, step.Kind, step.Agent).Add(step);
        if (step.Status == RunStatus.Failed)
        {
            _failuresSeen++;
            _mayRunAgain[step.Id] = (RunStatus.Failed, _all is null ? null : step);
            if (_failures.Count < FailureLimit)
            {
                _failures.Add(step.ToRecord());
            }
        }

        if (StepDigest.IsNotable(step.Kind) && _notable.Count < NotableLimit && !_notable.Contains(step))
        {
            _notable.Add(step);
        }
    }

    /// <summary>The pattern of the row being read: the selector and the fold ask for the same id one after the other.</summary>
    private string PatternOf(string stepId)
    {
        if (!ReferenceEquals(stepId, _lastId))
        {
            _lastId = stepId;
            _lastPattern = StepPattern.Of(stepId);
        }

        return _lastPattern!;
    }

    private string? _lastId;
    private string? _lastPattern;

    private Tally GroupOfStep(string stepId, string kind, string? agent) => GroupOf(PatternOf(stepId), kind, agent);

    private Tally GroupOf(string pattern, string kind, string? agent)
    {
        if (_groups.TryGetValue(pattern, out var tally))
        {
            return tally;
        }

        if (_groups.Count >= GroupLimit)
        {
            pattern = OtherPattern;
            if (_groups.TryGetValue(pattern, out tally))
            {
                return tally;
            }
        }

        return _groups[pattern] = new Tally(pattern, kind, agent);
    }

    private sealed class Tally(string pattern, string kind, string? agent)
    {
        private readonly Dictionary<RunStatus, long> _statuses = [];
        private readonly DurationSketch _durations = new();

        public long Count { get; private set; }

        /// <summary>The group's first step, as a report lists it when it stays alone in its group.</summary>
        public StepRecord? First { get; private set; }

        public void Add(StepFold step)
        {
            Count++;
            _statuses[step.Status] = _statuses.GetValueOrDefault(step.Status) + 1;
            First ??= step.ToRecord();
            if (step.DurationMs is { } ms)
            {
                _durations.Add(ms);
            }
        }

        /// <summary>A step's earlier end taken back (it runs again); its duration stays among the samples: it did take that long.</summary>
        public void Remove(RunStatus status)
        {
            Count--;
            _statuses[status] = _statuses.GetValueOrDefault(status) - 1;
        }

        public void Shift(RunStatus from, RunStatus to)
        {
            _statuses[from] = _statuses.GetValueOrDefault(from) - 1;
            _statuses[to] = _statuses.GetValueOrDefault(to) + 1;
        }

        public StepGroup ToGroup() => new(
            pattern,
            kind,
            agent,
            Count,
            _statuses.Where(s => s.Value != 0).ToDictionary(s => s.Key, s => s.Value),
            _durations.Percentile(0.5),
            _durations.Percentile(0.95),
            _durations.Count == 0 ? null : _durations.MaxMs);
    }
}
