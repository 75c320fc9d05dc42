using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Orchestrator.Core.Journal;

/// <summary>
/// The one writer of a durable journal: writes queue up and a single loop commits whatever has queued in one
/// transaction (group commit), so concurrent steps share the cost of a commit while each write still completes only
/// once it is durable. The store supplies the transaction; this decides what goes into it and who is told what.
/// </summary>
internal sealed class GroupCommitQueue
{
    private const int MaxBatch = 4096;

    private readonly Channel<JournalWrite> _queue = Channel.CreateUnbounded<JournalWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Action<List<JournalWrite>> _commit;
    private readonly Action<Exception> _rolledBack;
    private readonly Task _loop;

    /// <param name="commit">Applies the batch in one transaction and commits it; a write that fails alone sets its <see cref="JournalWrite.Failure"/>.</param>
    /// <param name="rolledBack">Called when a batch's transaction failed: whatever the writer cached of it is no longer true.</param>
    public GroupCommitQueue(Action<List<JournalWrite>> commit, Action<Exception> rolledBack)
    {
        _commit = commit;
        _rolledBack = rolledBack;
        _loop = Task.Run(LoopAsync);
    }

    public async ValueTask EnqueueAsync(JournalWrite write, CancellationToken cancellationToken)
    {
        if (!_queue.Writer.TryWrite(write))
        {
            throw new ObjectDisposedException("journal", "The journal is closed.");
        }

        // Durability is not given up on cancellation: the write stays queued and lands.
        await write.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Takes no more writes and waits until those queued are committed (or failed).</summary>
    public Task CompleteAsync()
    {
        _queue.Writer.TryComplete();
        return _loop;
    }

    private async Task LoopAsync()
    {
        var batch = new List<JournalWrite>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var write))
            {
                batch.Add(write);
            }

            try
            {
                _commit(batch);
                foreach (var write in batch)
                {
                    if (write.Failure is { } failure)
                    {
                        write.Done.TrySetException(failure);
                    }
                    else
                    {
                        write.Done.TrySetResult();
                    }
                }
            }
            catch (Exception ex)
            {
                _rolledBack(ex);
                foreach (var write in batch)
                {
                    write.Done.TrySetException(ex);
                }
            }

            batch.Clear();
        }
    }
}

/// <summary>One change a journal's writer makes, in the order the engine asked for it.</summary>
internal abstract record JournalWrite
{
    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set by the writer when this write alone failed without failing its batch.</summary>
    public Exception? Failure { get; set; }

    public sealed record Append(JournalEntry Entry) : JournalWrite;

    public sealed record StartRun(RunRecord Run) : JournalWrite;

    public sealed record EndRun(string RunId, RunStatus Status, JsonNode? Result, string? Error, DateTimeOffset EndedAt) : JournalWrite;

    public sealed record SetReport(string RunId, string? Report, string? ReportError) : JournalWrite;

    public sealed record ReopenRun(string RunId, string Host, int Pid) : JournalWrite
    {
        public static InvalidOperationException NoSuchRun(string runId) => new($"There is no run '{runId}' in the journal to reopen.");
    }

    public sealed record Prune(DateTimeOffset? StartedBefore, int? KeepNewest) : JournalWrite
    {
        /// <summary>The pruned runs' ids, oldest first; set by the writer.</summary>
        public IReadOnlyList<string> Pruned { get; set; } = [];
    }
}
