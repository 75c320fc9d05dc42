using System.Text.Json.Nodes;

namespace Orchestrator.Core.Journal;

/// <summary>Folds journal events into one record per step, in order of first start.</summary>
internal static class StepFolding
{
    public static IReadOnlyList<StepRecord> Fold(IEnumerable<JournalEntry> entries)
    {
        // Every run's end folds its whole journal, so the fold mutates one accumulator per step and builds each record once.
        var steps = new Dictionary<string, StepFold>(StringComparer.Ordinal);
        var order = new List<StepFold>();
        foreach (var e in InSeqOrder(entries))
        {
            if (!steps.TryGetValue(e.StepId, out var step))
            {
                step = new StepFold(e);
                steps.Add(e.StepId, step);
                order.Add(step);
            }

            step.Apply(new JournalRow(e, 0, false));
        }

        var records = new List<StepRecord>(order.Count);
        foreach (var step in order)
        {
            records.Add(step.ToRecord());
        }

        return records;
    }

    /// <summary>Journals hand entries back in order already; sorting is only for one that does not.</summary>
    private static IEnumerable<JournalEntry> InSeqOrder(IEnumerable<JournalEntry> entries)
    {
        var list = entries as IReadOnlyList<JournalEntry> ?? entries.ToList();
        for (var i = 1; i < list.Count; i++)
        {
            if (list[i].Seq < list[i - 1].Seq)
            {
                return list.OrderBy(e => e.Seq);
            }
        }

        return list;
    }
}

/// <summary>One step as it is folded from its events: a later start (a retry, a resume) begins a new attempt, and the last end counts.</summary>
internal sealed class StepFold
{
    private readonly JournalEntry _first;
    private StepRecord? _record;
    private string? _pattern;
    private int _attempt;
    private JsonNode? _input;
    private JsonNode? _output;
    private long? _inputChars;
    private long? _outputChars;
    private string? _error;
    private DateTimeOffset? _endedAt;

    public StepFold(JournalEntry first, string? pattern = null)
    {
        _first = first;
        _pattern = pattern;
        Agent = first.Agent;
    }

    /// <summary>A step already folded (read back from a report's JSON).</summary>
    public StepFold(StepRecord record)
        : this(new JournalEntry(record.RunId, record.Seq, record.Id, StepEvent.Started, record.ParentId, record.Name, record.Kind, record.Agent, record.Attempt, record.Input, null, record.StartedAt))
    {
        _record = record;
        Status = record.Status;
    }

    public string Id => _first.StepId;

    public string? ParentId => _first.ParentId;

    public string Kind => _first.Kind;

    public string? Agent { get; private set; }

    /// <summary>The step's <see cref="StepPattern"/>.</summary>
    public string Pattern => _pattern ??= StepPattern.Of(_first.StepId);

    public RunStatus Status { get; private set; } = RunStatus.Running;

    public double? DurationMs => _record?.DurationMs ?? (_endedAt is { } end ? (end - _first.At).TotalMilliseconds : null);

    public void Apply(in JournalRow row)
    {
        var e = row.Entry;
        _record = null;
        switch (e.Event)
        {
            case StepEvent.Started:
                Status = RunStatus.Running;
                _attempt = e.Attempt;
                _input = e.Payload;
                _inputChars = row.PayloadTruncated ? row.PayloadChars : null;
                Agent = e.Agent ?? Agent;
                _endedAt = null;
                _error = null;
                break;
            case StepEvent.Succeeded or StepEvent.Degraded:
                Status = e.Event == StepEvent.Succeeded ? RunStatus.Succeeded : RunStatus.Degraded;
                SetOutput(in row);
                _endedAt = e.At;
                _error = e.Error;
                break;
            case StepEvent.Compensated:
                Status = RunStatus.Compensated;
                _error = e.Error;
                break;
            default:
                Status = RunStatus.Failed;
                SetOutput(in row);
                _error = e.Error;
                _endedAt = e.At;
                break;
        }
    }

    public StepRecord ToRecord() => _record ??= new StepRecord
    {
        RunId = _first.RunId,
        Id = _first.StepId,
        ParentId = _first.ParentId,
        Name = _first.Name,
        Kind = _first.Kind,
        Agent = Agent,
        Status = Status,
        Attempt = _attempt,
        Input = _input,
        InputChars = _inputChars,
        Output = _output,
        OutputChars = _outputChars,
        Error = _error,
        Seq = _first.Seq,
        StartedAt = _first.At,
        EndedAt = _endedAt,
    };

    private void SetOutput(in JournalRow row)
    {
        _output = row.Entry.Payload;
        _outputChars = row.PayloadTruncated ? row.PayloadChars : null;
    }
}
