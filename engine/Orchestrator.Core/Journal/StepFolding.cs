namespace Orchestrator.Core.Journal;

/// <summary>Folds journal events into one record per step, in order of first start.</summary>
internal static class StepFolding
{
    public static IReadOnlyList<StepRecord> Fold(IEnumerable<JournalEntry> entries)
    {
        // Every run's end folds its whole journal, so the fold mutates one accumulator per step and builds each record once.
        var steps = new Dictionary<string, Accumulator>(StringComparer.Ordinal);
        var order = new List<Accumulator>();
        foreach (var e in InSeqOrder(entries))
        {
            if (!steps.TryGetValue(e.StepId, out var step))
            {
                step = new Accumulator(e);
                steps.Add(e.StepId, step);
                order.Add(step);
            }

            step.Apply(e);
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

    private sealed class Accumulator(JournalEntry first)
    {
        private RunStatus _status = RunStatus.Running;
        private string? _agent = first.Agent;
        private int _attempt;
        private System.Text.Json.Nodes.JsonNode? _input;
        private System.Text.Json.Nodes.JsonNode? _output;
        private string? _error;
        private DateTimeOffset? _endedAt;

        public void Apply(JournalEntry e)
        {
            switch (e.Event)
            {
                // A later start of the same step (a retry, a resume) begins a new attempt.
                case StepEvent.Started:
                    _status = RunStatus.Running;
                    _attempt = e.Attempt;
                    _input = e.Payload;
                    _agent = e.Agent ?? _agent;
                    _endedAt = null;
                    _error = null;
                    break;
                case StepEvent.Succeeded or StepEvent.Degraded:
                    _status = e.Event == StepEvent.Succeeded ? RunStatus.Succeeded : RunStatus.Degraded;
                    _output = e.Payload;
                    _endedAt = e.At;
                    _error = e.Error;
                    break;
                case StepEvent.Compensated:
                    _status = RunStatus.Compensated;
                    _error = e.Error;
                    break;
                default:
                    _status = RunStatus.Failed;
                    _output = e.Payload;
                    _error = e.Error;
                    _endedAt = e.At;
                    break;
            }
        }

        public StepRecord ToRecord() => new()
        {
            RunId = first.RunId,
            Id = first.StepId,
            ParentId = first.ParentId,
            Name = first.Name,
            Kind = first.Kind,
            Agent = _agent,
            Status = _status,
            Attempt = _attempt,
            Input = _input,
            Output = _output,
            Error = _error,
            Seq = first.Seq,
            StartedAt = first.At,
            EndedAt = _endedAt,
        };
    }
}
