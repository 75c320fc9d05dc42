using System.Text.Json.Nodes;
using Orchestrator.Core.Learning;

namespace Orchestrator.Core.Journal;

/// <summary>
/// The append-only record of runs and their steps. Appends of terminal step events complete only
/// once they are durable, so a finished step is never lost; started events may be batched.
/// </summary>
internal interface IJournal : IAsyncDisposable
{
    /// <summary>What the engine learned across runs, kept in the same store.</summary>
    ILearningStore Learning { get; }

    /// <summary>What runs wait for (approvals, events, timers) and the signals sent to them, kept in the same store.</summary>
    Waits.IWaitStore Waits { get; }

    /// <summary>The cron schedules a running host starts runs by, kept in the same store.</summary>
    Schedules.IScheduleStore Schedules { get; }

    /// <summary>
    /// Whether processes on several machines may share this store (PostgreSQL): then a run recorded as running by another
    /// machine cannot be judged from here (see <see cref="RunLiveness.IsInterrupted"/>).
    /// </summary>
    bool SharedAcrossMachines => false;

    ValueTask StartRunAsync(RunRecord run, CancellationToken cancellationToken);

    /// <summary>
    /// Appends an event; the returned task completes when the event is durable. The event is taken before the call
    /// returns, so events appended one after another are journaled (and hash-chained) in that order.
    /// </summary>
    ValueTask AppendAsync(JournalEntry entry, CancellationToken cancellationToken);

    ValueTask EndRunAsync(string runId, RunStatus status, JsonNode? result, string? error, DateTimeOffset endedAt, CancellationToken cancellationToken);

    /// <summary>Records the run's report: the path it was written to, or why it could not be (the run's status stays as it is).</summary>
    ValueTask SetReportAsync(string runId, string? reportPath, string? reportError, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<RunRecord>> ListRunsAsync(CancellationToken cancellationToken);

    ValueTask<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<JournalEntry>> GetEntriesAsync(string runId, CancellationToken cancellationToken);

    /// <summary>
    /// A run's events in order, one at a time, with only the payloads <paramref name="payloads"/> asks for: what reads a
    /// whole run (its report, <c>runs show</c>) holds what it keeps, never the whole journal.
    /// </summary>
    IAsyncEnumerable<JournalRow> ReadAsync(string runId, PayloadSelector payloads, CancellationToken cancellationToken) =>
        ReadAsync(runId, 0, payloads, cancellationToken);

    /// <summary>The run's events after sequence number <paramref name="afterSeq"/>: what a reader following the journal has not seen yet.</summary>
    IAsyncEnumerable<JournalRow> ReadAsync(string runId, long afterSeq, PayloadSelector payloads, CancellationToken cancellationToken);

    /// <summary>The payload of the run's event <paramref name="seq"/> (what a replayed step returns), or null.</summary>
    ValueTask<JsonNode?> GetPayloadAsync(string runId, long seq, CancellationToken cancellationToken);

    /// <summary>
    /// Makes a finished or interrupted run running again, for a resume: status <see cref="RunStatus.Running"/>,
    /// no end time, error or result, and this machine and process as its <see cref="RunRecord.Host"/> and
    /// <see cref="RunRecord.Pid"/>. Its start time and journal are kept. Throws <see cref="InvalidOperationException"/>
    /// if there is no such run.
    /// </summary>
    ValueTask ReopenRunAsync(string runId, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes old runs and all their journal events in one transaction and returns their ids, oldest first.
    /// A run is pruned if it started before <paramref name="startedBefore"/> (when given) and is not among the
    /// <paramref name="keepNewest"/> most recently started runs (when given); at least one must be given. A run
    /// still running on a live process is never pruned; an interrupted one is (see <see cref="RunLiveness"/>).
    /// </summary>
    ValueTask<IReadOnlyList<string>> PruneAsync(DateTimeOffset? startedBefore, int? keepNewest, CancellationToken cancellationToken);
}
