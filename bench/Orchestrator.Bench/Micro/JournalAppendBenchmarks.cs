using BenchmarkDotNet.Attributes;
using Orchestrator.Core.Journal;

namespace Orchestrator.Bench.Micro;

/// <summary>Appending step events: in memory, and to SQLite with concurrent appends sharing group commits.</summary>
[MemoryDiagnoser]
public class JournalAppendBenchmarks
{
    private const int Concurrent = 100;
    private readonly string _store = Path.Combine(Path.GetTempPath(), "orchestrator-bench-journal-" + Guid.NewGuid().ToString("N"));
    private SqliteJournal _sqlite = null!;
    private InMemoryJournal _memory = null!;
    private long _seq;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _sqlite = SqliteJournal.Open(_store);
        _memory = new InMemoryJournal();
        var run = new RunRecord { Id = "bench", Script = "bench", ScriptHash = "bench", Language = "csharp", EngineVersion = "bench", StartedAt = DateTimeOffset.UnixEpoch };
        await _sqlite.StartRunAsync(run, CancellationToken.None);
        await _memory.StartRunAsync(run, CancellationToken.None);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _sqlite.DisposeAsync();
        Directory.Delete(_store, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = Concurrent)]
    public Task InMemory() => AppendConcurrentlyAsync(_memory);

    /// <summary>Each append completes once committed; the hundred share commits (group commit).</summary>
    [Benchmark(OperationsPerInvoke = Concurrent)]
    public Task Sqlite() => AppendConcurrentlyAsync(_sqlite);

    private Task AppendConcurrentlyAsync(IJournal journal)
    {
        var appends = new Task[Concurrent];
        for (var i = 0; i < appends.Length; i++)
        {
            var seq = Interlocked.Increment(ref _seq);
            var entry = new JournalEntry("bench", seq, "step" + seq, StepEvent.Succeeded, null, "step", "agent", "noop", 1, null, null, DateTimeOffset.UnixEpoch);
            appends[i] = journal.AppendAsync(entry, CancellationToken.None).AsTask();
        }

        return Task.WhenAll(appends);
    }
}
