namespace Orchestrator.Core.Reporting;

/// <summary>
/// Step durations of a group in log-spaced buckets (eight per doubling, so a percentile is within about 9 % of the
/// exact one) plus the exact maximum: a group of a million steps costs the same few hundred counters as one of ten.
/// </summary>
internal sealed class DurationSketch
{
    private const int BucketsPerDoubling = 8;

    // Microseconds from 1 to 2^40 (about 12 days); anything shorter falls in the first bucket, longer in the last.
    private const int BucketCount = 40 * BucketsPerDoubling + 1;

    private readonly long[] _buckets = new long[BucketCount];

    public long Count { get; private set; }

    public double MaxMs { get; private set; }

    public double MinMs { get; private set; } = double.MaxValue;

    public void Add(double ms)
    {
        var micros = Math.Max(ms, 0) * 1000;
        var index = micros < 1 ? 0 : Math.Min(BucketCount - 1, 1 + (int)(Math.Log2(micros) * BucketsPerDoubling));
        _buckets[index]++;
        Count++;
        MaxMs = Math.Max(MaxMs, ms);
        MinMs = Math.Min(MinMs, ms);
    }

    /// <summary>The duration below which <paramref name="quantile"/> of the samples fall (the middle of its bucket, within the samples' minimum and maximum); null with no samples.</summary>
    public double? Percentile(double quantile)
    {
        if (Count == 0)
        {
            return null;
        }

        var rank = (long)Math.Ceiling(quantile * Count);
        long seen = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            seen += _buckets[i];
            if (seen >= Math.Max(rank, 1))
            {
                var middle = i == 0 ? 0.0005 : Math.Sqrt(Math.Pow(2, (i - 1) / (double)BucketsPerDoubling) * Math.Pow(2, i / (double)BucketsPerDoubling)) / 1000;
                return Math.Clamp(middle, MinMs, MaxMs);
            }
        }

        return MaxMs;
    }
}
