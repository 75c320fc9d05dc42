namespace Orchestrator.Core.Journal;

/// <summary>Folds journal events into one record per step, in order of first start.</summary>
internal static class StepFolding
{
    public static IReadOnlyList<StepRecord> Fold(IEnumerable<JournalEntry> entries)
    {
        var steps = new Dictionary<string, StepRecord>(StringComparer.Ordinal);
        foreach (var e in entries.OrderBy(e => e.Seq))
        {
            if (!steps.TryGetValue(e.StepId, out var step))
            {
                step = new StepRecord
                {
                    RunId = e.RunId,
                    Id = e.StepId,
                    ParentId = e.ParentId,
                    Name = e.Name,
                    Kind = e.Kind,
                    Agent = e.Agent,
                    Status = RunStatus.Running,
                    Seq = e.Seq,
                    StartedAt = e.At,
                };
            }

            steps[e.StepId] = e.Event switch
            {
                // A later start of the same step (a retry, a resume) begins a new attempt.
                StepEvent.Started => step with
                {
                    Status = RunStatus.Running,
                    Attempt = e.Attempt,
                    Input = e.Payload,
                    Agent = e.Agent ?? step.Agent,
                    EndedAt = null,
                    Error = null,
                },
                StepEvent.Succeeded => step with { Status = RunStatus.Succeeded, Output = e.Payload, EndedAt = e.At, Error = e.Error },
                StepEvent.Degraded => step with { Status = RunStatus.Degraded, Output = e.Payload, EndedAt = e.At, Error = e.Error },
                StepEvent.Compensated => step with { Status = RunStatus.Compensated, Error = e.Error },
                _ => step with { Status = RunStatus.Failed, Output = e.Payload, Error = e.Error, EndedAt = e.At },
            };
        }

        return steps.Values.OrderBy(s => s.Seq).ToList();
    }
}
