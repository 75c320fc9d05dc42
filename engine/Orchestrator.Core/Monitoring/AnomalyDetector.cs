using Orchestrator.Core.Learning;

namespace Orchestrator.Core.Monitoring;

/// <summary>
/// Flags a metric sample that strays from the metric's exponentially weighted moving average by more than
/// <see cref="MonitorOptions.Threshold"/> standard deviations (a z-score), after a warm-up. Seeded from the baselines
/// of earlier runs, so the first samples of a run are already judged against history. An anomalous sample is not folded
/// into the baseline, so one slow spell does not teach the baseline that slow is normal and hide the next one; only
/// when <see cref="AcceptAfter"/> samples in a row are anomalous does the level count as the new normal.
/// </summary>
internal sealed class AnomalyDetector(MonitorOptions options, IReadOnlyDictionary<string, Baseline> history)
{
    /// <summary>Anomalous samples in a row after which the baseline moves to them (a lasting change, not a spike).</summary>
    public const int AcceptAfter = 3;

    private readonly Dictionary<string, Ewma> _metrics = new(StringComparer.Ordinal);

    /// <summary>Judges a sample against the metric's baseline, then folds it in unless it is an anomaly.</summary>
    public Judgement Observe(string metric, double value)
    {
        if (!_metrics.TryGetValue(metric, out var ewma))
        {
            ewma = history.TryGetValue(metric, out var baseline) ? new Ewma(baseline.Count, baseline.Mean, baseline.Variance) : new Ewma(0, 0, 0);
            _metrics[metric] = ewma;
        }

        double? mean = ewma.Count > 0 ? ewma.Mean : null;
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

        if (anomaly is null || ++ewma.Anomalies >= AcceptAfter)
        {
            ewma.Add(value, options.Alpha);
            ewma.Anomalies = anomaly is null ? 0 : ewma.Anomalies;
        }

        return new Judgement(anomaly, mean);
    }

    /// <summary>The baselines to keep for later runs.</summary>
    public IReadOnlyDictionary<string, Baseline> Baselines() =>
        _metrics.ToDictionary(m => m.Key, m => new Baseline(m.Value.Count, m.Value.Mean, m.Value.Variance), StringComparer.Ordinal);

    /// <summary>A sample's z-score when it is an anomaly (else null), and the baseline's mean it was judged against (null before any).</summary>
    public readonly record struct Judgement(double? Z, double? Baseline);

    private sealed class Ewma(long count, double mean, double variance)
    {
        public long Count { get; private set; } = count;

        /// <summary>Anomalous samples in a row, kept out of the mean so far.</summary>
        public int Anomalies { get; set; }

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
