namespace Orchestrator.Core.Monitoring;

/// <summary>
/// The one monitor and optimization loop of an engine, whatever it runs: a single <see cref="TimeProvider"/> timer
/// that wakes at the earliest sample or optimization due in any run in flight and hands each due run its tick. A host
/// running a hundred runs has one timer, not two per run; a process that runs one run has the same loop with one run.
/// Each run's ticks stay its own (they never overlap, and a handler that blocks holds up only its run).
/// </summary>
internal sealed class MonitorLoop
{
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private readonly HashSet<RunMonitor> _watched = [];
    private long _wakeups;
    private long _ticks;

    public MonitorLoop(TimeProvider time)
    {
        _time = time;
        _timer = time.CreateTimer(_ => Wake(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The runs watched now.</summary>
    public int Watched
    {
        get
        {
            lock (_watched)
            {
                return _watched.Count;
            }
        }
    }

    /// <summary>How often the loop has woken: once per due time, however many runs were due then.</summary>
    public long Wakeups => Interlocked.Read(ref _wakeups);

    /// <summary>How many runs' samples and optimizations the loop has handed out.</summary>
    public long Ticks => Interlocked.Read(ref _ticks);

    internal void Watch(RunMonitor monitor)
    {
        lock (_watched)
        {
            _watched.Add(monitor);
            Arm();
        }
    }

    internal void Forget(RunMonitor monitor)
    {
        lock (_watched)
        {
            _watched.Remove(monitor);
            Arm();
        }
    }

    /// <summary>Changes a run's due times (its script reconfigured the intervals) under the loop's lock, then re-arms.</summary>
    internal void Reschedule(Action change)
    {
        lock (_watched)
        {
            change();
            Arm();
        }
    }

    private void Wake()
    {
        Interlocked.Increment(ref _wakeups);
        var due = new List<Action>();
        lock (_watched)
        {
            var now = _time.GetUtcNow();
            foreach (var monitor in _watched)
            {
                monitor.TakeDue(now, due);
            }

            Arm();
        }

        Interlocked.Add(ref _ticks, due.Count);

        // Outside the lock: a tick runs the run's anomaly handlers, which are script code.
        foreach (var tick in due)
        {
            tick();
        }
    }

    private void Arm()
    {
        if (_watched.Count == 0)
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        var next = _watched.Min(m => m.NextDue);
        var wait = next - _time.GetUtcNow();
        _timer.Change(wait > TimeSpan.Zero ? wait : TimeSpan.FromTicks(1), Timeout.InfiniteTimeSpan);
    }
}
