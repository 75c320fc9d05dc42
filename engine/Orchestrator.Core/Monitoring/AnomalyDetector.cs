using Orchestrator.Core.Learning;

namespace Orchestrator.Core.Monitoring;

/// <summary>
/// Flags a metric sample that strays from the metric's exponentially weighted moving average by more than
/// <see cref="MonitorOptions.Threshold"/> standard deviations (a z-score), after a warm-up. Seeded from the baselines
/// of earlier runs, so the first samples of a run are already judged against history.
/// </summary>
internal sealed class AnomalyDetector(MonitorOptions options, IReadOnlyDictionary<string, Baseline> history)
{
    private readonly Dictionary<string, Ewma> _metrics = new(StringComparer.Ordinal);

    /// <summary>Folds in a sample; returns the z-score if the sample is an anomaly (above the baseline), else null.</summary>
    public double? Observe(string metric, double value)
    {
        if (!_metrics.TryGetValue(metric, out var ewma))
        {
            ewma = history.TryGetValue(metric, out var baseline) ? new Ewma(baseline.Count, baseline.Mean, baseline.Variance) : new Ewma(0, 0, 0);
            _metrics[metric] = ewma;
        }

        double? anomaly = null;
        if (ewma.Count >= options.WarmUp)
        {
            // A floor on the deviation keeps a perfectly steady metric from calling every wobble an anomaly.
            var deviation = Math.Max(Math.Sqrt(ewma.Variance), Math.Max(Math.Abs(ewma.Mean) * options.RelativeFloor, 1e-9));
            var z = (value - ewma.Mean) / deviation;
            if (z > options.Threshold)
            {
                anomaly = z;
            }
        }

        ewma.Add(value, options.Alpha);
        return anomaly;
    }

    public double? MeanOf(string metric) => _metrics.TryGetValue(metric, out var e) && e.Count > 0 ? e.Mean : null;

    /// <summary>The baselines to keep for later runs.</summary>
    public IReadOnlyDictionary<string, Baseline> Baselines() =>
        _metrics.ToDictionary(m => m.Key, m => new Baseline(m.Value.Count, m.Value.Mean, m.Value.Variance), StringComparer.Ordinal);

    private sealed class Ewma(long count, double mean, double variance)
    {
        public long Count { get; private set; } = count;

        public double Mean { get; private set; } = mean;

        public double Variance { get; private set; } = variance;

        public void Add(double value, double alpha)
        {
            if (Count == 0)
            {
                Mean = value;
                Variance = 0;
            }
            else
            {
                var diff = value - Mean;
                var increment = alpha * diff;
                Mean += increment;
                Variance = (1 - alpha) * (Variance + diff * increment);
            }

            Count++;
        }
    }
}
