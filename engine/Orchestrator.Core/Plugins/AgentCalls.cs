namespace Orchestrator.Core.Plugins;

/// <summary>
/// The calls in flight on one plugin agent. A hot reload retires the agent: it is disposed when its last call ends
/// (at once if none is in flight), and no call enters it after that.
/// </summary>
internal sealed class AgentCalls
{
    private const int Disposed = -1;

    private int _count;
    private Action? _dispose;

    /// <summary>Counts a call in; false once the agent is disposed, so the caller asks the registry for the new version.</summary>
    public bool TryEnter()
    {
        while (true)
        {
            var count = Volatile.Read(ref _count);
            if (count == Disposed)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _count, count + 1, count) == count)
            {
                return true;
            }
        }
    }

    /// <summary>Counts a call out; the last one out of a retired agent disposes it.</summary>
    public void Exit()
    {
        if (Interlocked.Decrement(ref _count) == 0 && Volatile.Read(ref _dispose) is not null)
        {
            DisposeIfIdle();
        }
    }

    /// <summary>Disposes the agent with <paramref name="dispose"/> now if no call is in flight, or when the last one ends.</summary>
    public void Retire(Action dispose)
    {
        Volatile.Write(ref _dispose, dispose);
        DisposeIfIdle();
    }

    private void DisposeIfIdle()
    {
        // Only one of a racing Exit and Retire moves the count from 0 to Disposed, so the agent is disposed once.
        if (Interlocked.CompareExchange(ref _count, Disposed, 0) == 0)
        {
            _dispose!();
        }
    }
}
