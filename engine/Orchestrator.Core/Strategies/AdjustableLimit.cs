namespace Orchestrator.Core.Strategies;

/// <summary>A concurrency limit that can change while work waits on it: a strategy switch or the optimizer moves it.</summary>
internal sealed class AdjustableLimit(int limit)
{
    private readonly Lock _gate = new();
    private readonly Queue<TaskCompletionSource> _waiting = new();
    private int _inUse;

    public int Limit
    {
        get
        {
            lock (_gate)
            {
                return limit;
            }
        }
    }

    public int InUse
    {
        get
        {
            lock (_gate)
            {
                return _inUse;
            }
        }
    }

    public Task WaitAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        lock (_gate)
        {
            if (_inUse < limit && _waiting.Count == 0)
            {
                _inUse++;
                return Task.CompletedTask;
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue(waiter);
        }

        return WaitForTurnAsync(waiter, cancellationToken);
    }

    private static async Task WaitForTurnAsync(TaskCompletionSource waiter, CancellationToken cancellationToken)
    {
        // Cancelled before its turn, the waiter's TrySetResult in Admit fails, so it never takes a slot.
        await using var registration = cancellationToken.Register(() => waiter.TrySetCanceled(cancellationToken)).ConfigureAwait(false);
        await waiter.Task.ConfigureAwait(false);
    }

    public void Release()
    {
        lock (_gate)
        {
            _inUse--;
            Admit();
        }
    }

    public void SetLimit(int value)
    {
        lock (_gate)
        {
            limit = Math.Max(1, value);
            Admit();
        }
    }

    private void Admit()
    {
        while (_inUse < limit && _waiting.TryDequeue(out var next))
        {
            if (next.TrySetResult())
            {
                _inUse++;
            }
        }
    }
}
