using System.Collections.Concurrent;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Monitoring;

/// <summary>
/// The run's agent-step measurements, fed by every journal append: cumulative counts and latency sums, overall and per
/// agent, and the steps in flight. Readers (the monitor, the optimization loop) take snapshots and diff them.
/// </summary>
internal sealed class RunMetrics(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, long> _inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AgentTotals> _agents = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Counts an agent step's start and end; other steps (containers, script code) are not measured.</summary>
    public void Observe(JournalEntry entry)
    {
        if (entry.Agent is null || entry.Kind is not ("agent" or "work" or "subtask" or "attempt" or "proposal" or "contribution"))
        {
            return;
        }

        if (entry.Event == StepEvent.Started)
        {
            _inFlight[entry.StepId] = time.GetTimestamp();
            return;
        }

        if (entry.Event == StepEvent.Compensated || !_inFlight.TryRemove(entry.StepId, out var started))
        {
            return;
        }

        var ms = time.GetElapsedTime(started).TotalMilliseconds;
        _agents.GetOrAdd(entry.Agent, _ => new AgentTotals()).Add(ms, failed: entry.Event == StepEvent.Failed);
    }

    public MetricsSnapshot Snapshot() => new(
        time.GetTimestamp(),
        _inFlight.Count,
        _agents.ToDictionary(a => a.Key, a => a.Value.Read(), StringComparer.OrdinalIgnoreCase));

    private sealed class AgentTotals
    {
        private readonly Lock _gate = new();
        private long _finished;
        private long _failed;
        private double _totalMs;

        public void Add(double ms, bool failed)
        {
            lock (_gate)
            {
                _finished++;
                _totalMs += ms;
                if (failed)
                {
                    _failed++;
                }
            }
        }

        public AgentCounts Read()
        {
            lock (_gate)
            {
                return new AgentCounts(_finished, _failed, _totalMs);
            }
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
