using Orchestrator.Core.Learning;

namespace Orchestrator.Core.Strategies;

/// <summary>
/// A phase while it runs: its current strategy and concurrency limit, which a strategy switch and the optimization
/// loop change, and its counters, which the monitor and the optimization loop read.
/// </summary>
internal sealed class PhaseRuntime(string id, string name, PhaseStrategy strategy, int items)
{
    private readonly Lock _gate = new();
    private PhaseStrategy _strategy = strategy;
    private int _finished;
    private int _timeouts;

    /// <summary>The phase's step id, unique in the run.</summary>
    public string Id { get; } = id;

    /// <summary>The phase's name, which learning and tuning go by.</summary>
    public string Name { get; } = name;

    public int Items { get; } = items;

    public AdjustableLimit Limit { get; } = new(strategy.EffectiveConcurrency);

    public PhaseStrategy Strategy
    {
        get
        {
            lock (_gate)
            {
                return _strategy;
            }
        }
    }

    /// <summary>Items not finished yet, running or waiting.</summary>
    public int Remaining => Items - Volatile.Read(ref _finished);

    /// <summary>Items that timed out since the optimization loop last looked.</summary>
    public int TakeTimeouts() => Interlocked.Exchange(ref _timeouts, 0);

    public void Finished(bool timedOut)
    {
        Interlocked.Increment(ref _finished);
        if (timedOut)
        {
            Interlocked.Increment(ref _timeouts);
        }
    }

    public void Switch(PhaseStrategy next)
    {
        lock (_gate)
        {
            _strategy = next;
        }

        Limit.SetLimit(next.EffectiveConcurrency);
    }

    /// <summary>Applies a change to the running phase, only if it is still on <paramref name="strategy"/>; false if it no longer is.</summary>
    public bool Apply(string strategy, System.Text.Json.Nodes.JsonObject change)
    {
        PhaseStrategy changed;
        lock (_gate)
        {
            if (_strategy.Name != strategy)
            {
                return false;
            }

            changed = _strategy = _strategy.With(change);
        }

        Limit.SetLimit(changed.EffectiveConcurrency);
        return true;
    }
}
