using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace Orchestrator.Core.Journal;

/// <summary>A journal that lives only as long as the process: for tests, the REPL and benchmarks.</summary>
internal sealed class InMemoryJournal : IJournal
{
    private readonly ConcurrentDictionary<string, RunRecord> _runs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, List<JournalEntry>> _entries = new(StringComparer.Ordinal);

    public ValueTask StartRunAsync(RunRecord run, CancellationToken cancellationToken)
    {
        _runs[run.Id] = run;
        _entries.TryAdd(run.Id, []);
        return ValueTask.CompletedTask;
    }

    public ValueTask AppendAsync(JournalEntry entry, CancellationToken cancellationToken)
    {
        var list = _entries.GetOrAdd(entry.RunId, _ => []);
        lock (list)
        {
            list.Add(entry);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask EndRunAsync(string runId, RunStatus status, JsonNode? result, string? error, DateTimeOffset endedAt, CancellationToken cancellationToken)
    {
        if (_runs.TryGetValue(runId, out var run))
        {
            _runs[runId] = run with { Status = status, Result = result, Error = error, EndedAt = endedAt };
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask SetReportAsync(string runId, string reportPath, CancellationToken cancellationToken)
    {
        if (_runs.TryGetValue(runId, out var run))
        {
            _runs[runId] = run with { Report = reportPath };
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<RunRecord>> ListRunsAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<RunRecord>>(_runs.Values.OrderBy(r => r.StartedAt).ToList());

    public ValueTask<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_runs.GetValueOrDefault(runId));

    public ValueTask<IReadOnlyList<JournalEntry>> GetEntriesAsync(string runId, CancellationToken cancellationToken)
    {
        if (!_entries.TryGetValue(runId, out var list))
        {
            return ValueTask.FromResult<IReadOnlyList<JournalEntry>>([]);
        }

        lock (list)
        {
            return ValueTask.FromResult<IReadOnlyList<JournalEntry>>(list.ToList());
        }
    }

    public ValueTask DisposeAsync()
    {
        // The journal lives only as long as the process: nothing to flush or release.
        return ValueTask.CompletedTask;
    }
}
