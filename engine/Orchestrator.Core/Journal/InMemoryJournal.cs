using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Orchestrator.Core.Learning;

namespace Orchestrator.Core.Journal;

/// <summary>A journal that lives only as long as the process: for tests, the REPL and benchmarks.</summary>
internal sealed class InMemoryJournal : IJournal
{
    private readonly ConcurrentDictionary<string, RunRecord> _runs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, EntryLog> _entries = new(StringComparer.Ordinal);
    private readonly ActiveRuns _active = new();

    /// <summary>Serializes prunes with the writes that could race them.</summary>
    private readonly Lock _gate = new();

    public ILearningStore Learning { get; } = new InMemoryLearningStore();

    public Waits.IWaitStore Waits { get; } = new Waits.InMemoryWaitStore();

    public Schedules.IScheduleStore Schedules { get; } = new Schedules.InMemoryScheduleStore();

    public ValueTask StartRunAsync(RunRecord run, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _runs[run.Id] = run with { Host = run.Host ?? Environment.MachineName, Pid = run.Pid ?? Environment.ProcessId };
            _entries.TryAdd(run.Id, new EntryLog());
        }

        _active.Started(run.Id);
        return ValueTask.CompletedTask;
    }

    public ValueTask AppendAsync(JournalEntry entry, CancellationToken cancellationToken)
    {
        _entries.GetOrAdd(entry.RunId, static _ => new EntryLog()).Add(in entry);
        return ValueTask.CompletedTask;
    }

    public ValueTask EndRunAsync(string runId, RunStatus status, JsonNode? result, string? error, DateTimeOffset endedAt, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_runs.TryGetValue(runId, out var run))
            {
                _runs[runId] = run with { Status = status, Result = result, Error = error, EndedAt = endedAt };
            }
        }

        _active.Ended(runId);
        return ValueTask.CompletedTask;
    }

    public ValueTask SetReportAsync(string runId, string? reportPath, string? reportError, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_runs.TryGetValue(runId, out var run))
            {
                _runs[runId] = run with { Report = reportPath, ReportError = reportError };
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask ReopenRunAsync(string runId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_runs.TryGetValue(runId, out var run))
            {
                throw new InvalidOperationException($"There is no run '{runId}' in the journal to reopen.");
            }

            _runs[runId] = run with
            {
                Status = RunStatus.Running,
                EndedAt = null,
                Error = null,
                Result = null,
                ReportError = null,
                Host = Environment.MachineName,
                Pid = Environment.ProcessId,
            };
        }

        _active.Started(runId);
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<string>> PruneAsync(DateTimeOffset? startedBefore, int? keepNewest, CancellationToken cancellationToken)
    {
        RunRetention.Validate(startedBefore, keepNewest);
        lock (_gate)
        {
            var pruned = RunRetention.Select(_runs.Values.ToList(), startedBefore, keepNewest);
            foreach (var run in pruned)
            {
                _runs.TryRemove(run.Id, out _);
                _entries.TryRemove(run.Id, out _);
            }

            return ValueTask.FromResult<IReadOnlyList<string>>(pruned.Select(r => r.Id).ToList());
        }
    }

    public ValueTask<IReadOnlyList<RunRecord>> ListRunsAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<RunRecord>>(_runs.Values.OrderBy(r => r.StartedAt).ToList());

    public ValueTask<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_runs.GetValueOrDefault(runId));

    public ValueTask<IReadOnlyList<JournalEntry>> GetEntriesAsync(string runId, CancellationToken cancellationToken)
    {
        return ValueTask.FromResult(_entries.TryGetValue(runId, out var log) ? log.Snapshot() : (IReadOnlyList<JournalEntry>)[]);
    }

    public async IAsyncEnumerable<JournalRow> ReadAsync(string runId, long afterSeq, PayloadSelector payloads, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var entry in (await GetEntriesAsync(runId, cancellationToken).ConfigureAwait(false)).Where(e => e.Seq > afterSeq))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var json = entry.Payload?.ToJsonString();
            var wanted = json is null ? PayloadRead.Skip : payloads(entry.StepId, entry.Event, entry.Kind);
            yield return wanted switch
            {
                PayloadRead.Full => new JournalRow(entry, json?.Length ?? 0, false),
                PayloadRead.Preview when json!.Length <= JournalRow.PreviewChars => new JournalRow(entry, json.Length, false),
                PayloadRead.Preview => new JournalRow(entry with { Payload = JsonValue.Create(json![..JournalRow.PreviewChars]) }, json.Length, true),
                _ => new JournalRow(entry with { Payload = null }, json?.Length ?? 0, false),
            };
        }
    }

    public ValueTask<JsonNode?> GetPayloadAsync(string runId, long seq, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_entries.TryGetValue(runId, out var log) ? log.Find(seq)?.Payload?.DeepClone() : null);

    public ValueTask DisposeAsync()
    {
        // The journal lives only as long as the process: nothing to flush; runs left open are no longer run here.
        _active.Clear();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// One run's entries, in fixed-size chunks of structs. Every step appends two entries that live as long as the run:
    /// as objects they would all be promoted and copied by each collection, and one big array would live on the large
    /// object heap and be copied at every doubling.
    /// </summary>
    private sealed class EntryLog
    {
        // 512 entries of about 100 bytes: a chunk stays below the large object heap's threshold.
        private const int ChunkSize = 512;
        private readonly List<JournalEntry[]> _chunks = [];
        private readonly Lock _gate = new();
        private int _count;

        public void Add(in JournalEntry entry)
        {
            lock (_gate)
            {
                var offset = _count % ChunkSize;
                if (offset == 0)
                {
                    _chunks.Add(new JournalEntry[ChunkSize]);
                }

                _chunks[^1][offset] = entry;
                _count++;
            }
        }

        /// <summary>The entry with sequence number <paramref name="seq"/>: entries are appended nearly in order, so it is looked for by halving first.</summary>
        public JournalEntry? Find(long seq)
        {
            lock (_gate)
            {
                int low = 0, high = _count - 1;
                while (low <= high)
                {
                    var middle = (low + high) / 2;
                    var entry = _chunks[middle / ChunkSize][middle % ChunkSize];
                    if (entry.Seq == seq)
                    {
                        return entry;
                    }

                    if (entry.Seq < seq)
                    {
                        low = middle + 1;
                    }
                    else
                    {
                        high = middle - 1;
                    }
                }

                // Concurrent steps may append a moment out of order: then it is found by looking at each.
                for (var i = 0; i < _count; i++)
                {
                    if (_chunks[i / ChunkSize][i % ChunkSize] is { } candidate && candidate.Seq == seq)
                    {
                        return candidate;
                    }
                }

                return null;
            }
        }

        public IReadOnlyList<JournalEntry> Snapshot()
        {
            lock (_gate)
            {
                var copy = new List<JournalEntry>(_count);
                for (var i = 0; i < _count; i++)
                {
                    copy.Add(_chunks[i / ChunkSize][i % ChunkSize]);
                }

                return copy;
            }
        }
    }
}
