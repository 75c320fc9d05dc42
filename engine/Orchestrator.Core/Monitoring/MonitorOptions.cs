namespace Orchestrator.Core.Monitoring;

/// <summary>How often the monitor and the optimization loop look, and what counts as an anomaly.</summary>
public sealed record MonitorOptions
{
    public static MonitorOptions Default { get; } = new();

    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the optimization loop turns the metrics into recommendations.</summary>
    public TimeSpan OptimizeInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The z-score above which a sample is an anomaly.</summary>
    public double Threshold { get; init; } = 3;

    /// <summary>The EWMA weight of a new sample.</summary>
    public double Alpha { get; init; } = 0.3;

    /// <summary>Samples of a metric needed before it is judged.</summary>
    public int WarmUp { get; init; } = 3;

    /// <summary>The smallest deviation, as a share of the mean, that a z-score divides by.</summary>
    public double RelativeFloor { get; init; } = 0.1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad field.</summary>
    public MonitorOptions Validate()
    {
        if (Interval <= TimeSpan.Zero || OptimizeInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"the monitor interval ({Interval}) and the optimization interval ({OptimizeInterval}) must be positive");
        }

        if (Threshold <= 0 || double.IsNaN(Threshold))
        {
            throw new ArgumentException($"the anomaly threshold must be positive, not {Threshold}");
        }

        if (Alpha is <= 0 or > 1 || double.IsNaN(Alpha))
        {
            throw new ArgumentException($"the EWMA alpha must be in (0, 1], not {Alpha}");
        }

        if (WarmUp < 1)
        {
            throw new ArgumentException($"the warm-up must be at least 1 sample, not {WarmUp}");
        }

        return this;
    }
}
