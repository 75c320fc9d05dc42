using System.Text.Json.Nodes;

namespace Orchestrator.Core.Journal;

/// <summary>
/// The append-only record of runs and their steps. Appends of terminal step events complete only
/// once they are durable, so a finished step is never lost; started events may be batched.
/// </summary>
internal interface IJournal : IAsyncDisposable
{
    ValueTask StartRunAsync(RunRecord run, CancellationToken cancellationToken);

    /// <summary>Appends an event; the returned task completes when the event is durable.</summary>
    ValueTask AppendAsync(JournalEntry entry, CancellationToken cancellationToken);

    ValueTask EndRunAsync(string runId, RunStatus status, JsonNode? result, string? error, DateTimeOffset endedAt, CancellationToken cancellationToken);

    ValueTask SetReportAsync(string runId, string reportPath, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<RunRecord>> ListRunsAsync(CancellationToken cancellationToken);

    ValueTask<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<JournalEntry>> GetEntriesAsync(string runId, CancellationToken cancellationToken);
}
