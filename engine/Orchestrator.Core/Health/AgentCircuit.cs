namespace Orchestrator.Core.Health;

/// <summary>
/// One agent's circuit breaker, with the semantics of Polly's advanced circuit breaker: closed, it lets every call
/// through and opens when, within the sampling window, at least <see cref="CircuitOptions.MinimumThroughput"/> calls
/// ended and at least <see cref="CircuitOptions.FailureRatio"/> of them failed; open, it fails calls fast for the
/// break; then one trial call decides (half-open): a success closes it, a failure opens it for another break.
/// </summary>
/// <remarks>
/// Every agent step passes through here, from every concurrent branch at once. Polly's breaker takes a lock for each
/// outcome; with a thousand concurrent steps on one agent that lock cost more than the rest of the step (measured with
/// the bench's in-memory scenario), so a closed circuit counts outcomes lock-free, in time buckets, and takes a lock
/// only to open or to change state.
/// </remarks>
internal sealed class AgentCircuit
{
    private const int Closed = 0;
    private const int Open = 1;
    private const int HalfOpen = 2;
    private const int Isolated = 3;

    // The sampling window as ten buckets: an outcome lands in the bucket of its time, and the ratio reads the buckets still in the window.
    private const int BucketCount = 10;

    private readonly TimeProvider _time;
    private CircuitOptions _options;
    private long _bucketTicks;
    private readonly Bucket[] _buckets = [.. Enumerable.Range(0, BucketCount).Select(_ => new Bucket())];
    private readonly Lock _gate = new();
    private int _state = Closed;
    private long _openedAt;
    private long _successes;
    private long _failures;

    public AgentCircuit(string id, TimeProvider time, CircuitOptions options)
    {
        Id = id;
        _time = time;
        _options = options;
        _bucketTicks = BucketTicks(options, time);
    }

    /// <summary>
    /// Takes new options (a script's <c>ConfigureCircuits</c>): the sampling window starts afresh under them, and an open
    /// circuit stays open for the new break, counted from when it opened.
    /// </summary>
    public void Reconfigure(CircuitOptions options)
    {
        lock (_gate)
        {
            _options = options;
            Volatile.Write(ref _bucketTicks, BucketTicks(options, _time));
            foreach (var bucket in _buckets)
            {
                bucket.Successes = 0;
                bucket.Failures = 0;
                Volatile.Write(ref bucket.Slice, -1);
            }
        }
    }

    private static long BucketTicks(CircuitOptions options, TimeProvider time) =>
        Math.Max(1, (long)(options.SamplingDuration.TotalSeconds * time.TimestampFrequency / BucketCount));

    public string Id { get; }

    public long Successes => Interlocked.Read(ref _successes);

    public long Failures => Interlocked.Read(ref _failures);

    public AgentHealthState State => Volatile.Read(ref _state) switch
    {
        Closed => AgentHealthState.Healthy,
        HalfOpen => AgentHealthState.Recovering,

        // The trial call is made by the next call to come: a break that is over already invites it.
        Open when BreakIsOver() => AgentHealthState.Recovering,
        _ => AgentHealthState.Unhealthy,
    };

    /// <summary>Whether a call may go to the agent now; a trial call (the one after a break) must report back through <see cref="Exit"/> like any other.</summary>
    public Permit Enter()
    {
        var state = Volatile.Read(ref _state);
        if (state == Closed)
        {
            return new Permit(Allowed: true, Trial: false);
        }

        // Exactly one caller turns an open circuit whose break is over into a half-open one, and makes the trial call.
        if (state == Open && BreakIsOver() && Interlocked.CompareExchange(ref _state, HalfOpen, Open) == Open)
        {
            return new Permit(Allowed: true, Trial: true);
        }

        return new Permit(Allowed: false, Trial: false);
    }

    /// <summary>Counts how an allowed call ended; a cancelled call counts for nothing (a cancelled trial lets the next caller try).</summary>
    public void Exit(Permit permit, CallOutcome outcome)
    {
        if (outcome != CallOutcome.Cancelled)
        {
            Interlocked.Increment(ref outcome == CallOutcome.Succeeded ? ref _successes : ref _failures);
        }

        if (permit.Trial)
        {
            lock (_gate)
            {
                switch (outcome)
                {
                    case CallOutcome.Succeeded:
                        CloseLocked();
                        break;
                    case CallOutcome.Failed:
                        OpenLocked();
                        break;
                    default:
                        Volatile.Write(ref _state, Open);
                        break;
                }
            }

            return;
        }

        if (outcome == CallOutcome.Cancelled)
        {
            return;
        }

        var now = _time.GetTimestamp();
        var bucket = BucketAt(now);
        if (outcome == CallOutcome.Succeeded)
        {
            Interlocked.Increment(ref bucket.Successes);
            return;
        }

        Interlocked.Increment(ref bucket.Failures);
        lock (_gate)
        {
            if (Volatile.Read(ref _state) == Closed && ShouldOpen(now))
            {
                OpenLocked();
            }
        }
    }

    /// <summary>
    /// Opens the circuit by hand for one break (the monitor does this when the agent's latency spikes), so that its work
    /// goes to healthy replicas; it closes again after the break.
    /// </summary>
    public Task IsolateAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            Interlocked.Exchange(ref _openedAt, _time.GetTimestamp());
            Volatile.Write(ref _state, Isolated);
        }

        ITimer? timer = null;
        timer = _time.CreateTimer(
            _ =>
            {
                lock (_gate)
                {
                    if (Volatile.Read(ref _state) == Isolated)
                    {
                        CloseLocked();
                    }
                }

                timer?.Dispose();
            },
            null,
            _options.BreakDuration,
            Timeout.InfiniteTimeSpan);
        return Task.CompletedTask;
    }

    /// <summary>How long an open circuit still fails calls fast before its trial call; null when it is not open.</summary>
    public TimeSpan? BreakRemaining => Volatile.Read(ref _state) == Open
        ? _options.BreakDuration - _time.GetElapsedTime(Interlocked.Read(ref _openedAt))
        : null;

    private bool BreakIsOver() => _time.GetElapsedTime(Interlocked.Read(ref _openedAt)) >= _options.BreakDuration;

    /// <summary>The bucket for <paramref name="timestamp"/>, emptied first if it last counted an older slice of time.</summary>
    private Bucket BucketAt(long timestamp)
    {
        var slice = timestamp / Volatile.Read(ref _bucketTicks);
        var bucket = _buckets[(int)(slice % BucketCount)];
        if (Volatile.Read(ref bucket.Slice) != slice)
        {
            lock (_gate)
            {
                if (bucket.Slice != slice)
                {
                    bucket.Successes = 0;
                    bucket.Failures = 0;
                    Volatile.Write(ref bucket.Slice, slice);
                }
            }
        }

        return bucket;
    }

    private bool ShouldOpen(long now)
    {
        var current = now / Volatile.Read(ref _bucketTicks);
        long successes = 0;
        long failures = 0;
        foreach (var bucket in _buckets)
        {
            if (current - Volatile.Read(ref bucket.Slice) < BucketCount)
            {
                successes += Interlocked.Read(ref bucket.Successes);
                failures += Interlocked.Read(ref bucket.Failures);
            }
        }

        var total = successes + failures;
        return total >= _options.MinimumThroughput && failures >= _options.FailureRatio * total;
    }

    private void OpenLocked()
    {
        Interlocked.Exchange(ref _openedAt, _time.GetTimestamp());
        Volatile.Write(ref _state, Open);
    }

    private void CloseLocked()
    {
        // A closed circuit starts counting afresh: what opened it is over.
        foreach (var bucket in _buckets)
        {
            bucket.Successes = 0;
            bucket.Failures = 0;
            Volatile.Write(ref bucket.Slice, -1);
        }

        Volatile.Write(ref _state, Closed);
    }

    /// <summary>Whether a call may be made, and whether it is the trial call of a half-open circuit.</summary>
    internal readonly record struct Permit(bool Allowed, bool Trial)
    {
        /// <summary>A call made whatever the circuit says (a compensation); its outcome counts like any other.</summary>
        public static Permit Bypass => new(Allowed: true, Trial: false);
    }

    private sealed class Bucket
    {
        public long Slice = -1;
        public long Successes;
        public long Failures;
    }
}

/// <summary>How a call the circuit let through ended.</summary>
internal enum CallOutcome
{
    Succeeded,
    Failed,
    Cancelled,
}
