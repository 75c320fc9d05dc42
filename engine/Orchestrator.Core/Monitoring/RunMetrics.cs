using System.Collections.Concurrent;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Monitoring;

/// <summary>
/// The run's agent-step measurements, fed by every journal append: cumulative counts and latency sums, overall and per
/// agent, and the steps in flight. Readers (the monitor, the optimization loop) take snapshots and diff them.
/// Every step of a run passes through here, so it takes no lock and allocates nothing per step.
/// </summary>
internal sealed class RunMetrics(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, AgentTotals> _agents = new(StringComparer.OrdinalIgnoreCase);
    private long _inFlight;

    /// <summary>
    /// Counts an agent step's start and end; other steps (containers, script code) are not measured. A step's end
    /// comes with the timestamp (of <see cref="TimeProvider.GetTimestamp"/>) its start was appended at.
    /// </summary>
    public void Observe(in JournalEntry entry, long startedAt)
    {
        if (entry.Agent is null || entry.Event == StepEvent.Compensated || entry.Kind is not ("agent" or "work" or "subtask" or "attempt" or "proposal" or "contribution"))
        {
            return;
        }

        if (entry.Event == StepEvent.Started)
        {
            Interlocked.Increment(ref _inFlight);
            return;
        }

        Interlocked.Decrement(ref _inFlight);
        var ms = time.GetElapsedTime(startedAt).TotalMilliseconds;
        // A failure the run absorbed (degraded, or minor and journaled as succeeded with its error) is still a failure of the agent.
        _agents.GetOrAdd(entry.Agent, static _ => new AgentTotals()).Add(ms, failed: entry.Event is StepEvent.Failed or StepEvent.Degraded || entry.Error is not null);
    }

    public MetricsSnapshot Snapshot() => new(
        time.GetTimestamp(),
        (int)Interlocked.Read(ref _inFlight),
        _agents.ToDictionary(a => a.Key, a => a.Value.Read(), StringComparer.OrdinalIgnoreCase));

    /// <summary>Counters, each updated on its own: a snapshot may see a step's count a moment before its latency, never lose either.</summary>
    private sealed class AgentTotals
    {
        private long _finished;
        private long _failed;
        private long _totalTicks;

        public void Add(double ms, bool failed)
        {
            Interlocked.Add(ref _totalTicks, (long)(ms * TimeSpan.TicksPerMillisecond));
            if (failed)
            {
                Interlocked.Increment(ref _failed);
            }

            Interlocked.Increment(ref _finished);
        }

        public AgentCounts Read()
        {
            var finished = Interlocked.Read(ref _finished);
            return new AgentCounts(finished, Interlocked.Read(ref _failed), Interlocked.Read(ref _totalTicks) / (double)TimeSpan.TicksPerMillisecond);
        }
    }
}

/// <summary>Cumulative agent-step counts at one moment.</summary>
internal sealed record AgentCounts(long Finished, long Failed, double TotalMs)
{
    public static AgentCounts Zero { get; } = new(0, 0, 0);

    public AgentCounts Minus(AgentCounts earlier) => new(Finished - earlier.Finished, Failed - earlier.Failed, TotalMs - earlier.TotalMs);

    public AgentCounts Plus(AgentCounts other) => new(Finished + other.Finished, Failed + other.Failed, TotalMs + other.TotalMs);

    public double? MeanMs => Finished == 0 ? null : TotalMs / Finished;

    public double? ErrorRate => Finished == 0 ? null : (double)Failed / Finished;
}

/// <summary>The metrics at one moment: a timestamp, steps in flight and per-agent totals.</summary>
internal sealed record MetricsSnapshot(long Timestamp, int InFlight, IReadOnlyDictionary<string, AgentCounts> Agents)
{
    public static MetricsSnapshot Empty(long timestamp) => new(timestamp, 0, new Dictionary<string, AgentCounts>());

    public AgentCounts Total => Agents.Values.Aggregate(AgentCounts.Zero, (sum, a) => sum.Plus(a));

    /// <summary>What happened per agent since <paramref name="earlier"/>.</summary>
    public IReadOnlyDictionary<string, AgentCounts> Since(MetricsSnapshot earlier) =>
        Agents.ToDictionary(a => a.Key, a => a.Value.Minus(earlier.Agents.GetValueOrDefault(a.Key) ?? AgentCounts.Zero), StringComparer.OrdinalIgnoreCase);
}
