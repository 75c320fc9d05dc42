using System.Runtime.CompilerServices;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Runs;

/// <summary>
/// A run's whole event stream for a reader who may come late: what it missed from the journal, then the live
/// tail from the run's stream, ending with the run's end. A run no longer in flight is read from the journal alone.
/// </summary>
internal static class RunEventReader
{
    /// <summary>How often, and how long apart, a reader waits for the journal to commit events it has not seen yet.</summary>
    private const int CommitWaits = 50;

    private static readonly TimeSpan CommitWait = TimeSpan.FromMilliseconds(20);

    /// <summary>How often the journal of a run driven elsewhere (another node, another process) is read for new events.</summary>
    public static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(200);

    /// <param name="afterSeq">Only events after this sequence number (an SSE client's <c>Last-Event-ID</c>); 0 for all.</param>
    /// <param name="drivenElsewhere">
    /// For a run not in flight here: whether something else still drives it (another node of the cluster, which may be
    /// taking it over). While it does, its journal is followed to its end; otherwise what is journaled is all there is.
    /// </param>
    public static async IAsyncEnumerable<RunEvent> ReadAsync(
        IJournal journal, string runId, RunEventStream? live, long afterSeq, TimeProvider time,
        Func<CancellationToken, ValueTask<bool>>? drivenElsewhere, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (live is null)
        {
            // Streamed, never held: a finished run may have millions of events. Each step's first start counts it once.
            var steps = 0;
            var read = 0L;
            while (true)
            {
                // The run's status before its events: a run seen ended has all its events committed before.
                var run = await journal.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
                await foreach (var row in journal.ReadAsync(runId, read, JournalRow.All, cancellationToken).ConfigureAwait(false))
                {
                    steps += row.Entry.Event == StepEvent.Started && row.Entry.Attempt == 1 ? 1 : 0;
                    read = row.Entry.Seq;
                    if (row.Entry.Seq > afterSeq)
                    {
                        yield return new RunEvent(row.Entry, null);
                    }
                }

                if (run is not null && run.Status != RunStatus.Running)
                {
                    yield return RunEvent.Ended(RunEnd.From(run, steps));
                    yield break;
                }

                if (run is null || drivenElsewhere is null || !await drivenElsewhere(cancellationToken).ConfigureAwait(false))
                {
                    yield break;
                }

                await Task.Delay(FollowInterval, time, cancellationToken).ConfigureAwait(false);
            }
        }

        // Subscribe first, so nothing appended from here on is missed; the journal and the recent events cover the rest.
        using var subscription = live.Subscribe();
        var last = afterSeq;
        var firstRecent = subscription.Recent.Count > 0 ? subscription.Recent[0].Seq : long.MaxValue;
        for (var wait = 0; last + 1 < firstRecent; wait++)
        {
            // Only events committed in sequence count: a later one can commit before an earlier one.
            var before = last;
            await foreach (var row in journal.ReadAsync(runId, JournalRow.All, cancellationToken).ConfigureAwait(false))
            {
                if (row.Entry.Seq == last + 1 && row.Entry.Seq < firstRecent)
                {
                    last = row.Entry.Seq;
                    yield return new RunEvent(row.Entry, null);
                }
            }

            if (last + 1 >= firstRecent || subscription.Recent.Count == 0 || wait == CommitWaits)
            {
                break;
            }

            if (last == before)
            {
                await Task.Delay(CommitWait, time, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var entry in subscription.Recent)
        {
            if (entry.Seq > last)
            {
                last = entry.Seq;
                yield return new RunEvent(entry, null);
            }
        }

        await foreach (var next in subscription.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (next.End is not null || next.Step.Seq > last)
            {
                last = next.End is null ? next.Step.Seq : last;
                yield return next;
            }
        }
    }
}
