using Orchestrator.Core.Learning;
using Orchestrator.Core.Monitoring;

namespace Orchestrator.Tests.Units;

/// <summary>The anomaly detector alone: warm-up, the z-score, the floor on the deviation, spikes and lasting changes.</summary>
public sealed class AnomalyDetectorTests
{
    private static readonly Dictionary<string, Baseline> NoHistory = [];

    [Fact]
    public void Nothing_is_judged_during_the_warm_up()
    {
        var detector = new AnomalyDetector(MonitorOptions.Default, NoHistory);

        detector.Observe("latency", 10).Z.Should().BeNull();
        detector.Observe("latency", 10).Z.Should().BeNull();
        detector.Observe("latency", 1000).Z.Should().BeNull("two samples are fewer than the warm-up of three");
    }

    [Fact]
    public void A_sample_far_above_the_baseline_is_an_anomaly_with_its_z_score_and_the_baseline_it_was_judged_against()
    {
        var detector = new AnomalyDetector(MonitorOptions.Default, NoHistory);
        foreach (var value in new[] { 100.0, 100, 100, 100 })
        {
            detector.Observe("latency", value).Z.Should().BeNull();
        }

        var judged = detector.Observe("latency", 1000);

        // A steady metric has no variance: the floor (10 % of the mean) is the deviation, so z = (1000 - 100) / 10.
        judged.Z.Should().BeApproximately(90, 1e-9);
        judged.Baseline.Should().Be(100);
    }

    [Fact]
    public void A_small_wobble_on_a_steady_metric_is_not_an_anomaly()
    {
        var detector = new AnomalyDetector(MonitorOptions.Default, NoHistory);
        foreach (var value in new[] { 100.0, 100, 100, 100 })
        {
            detector.Observe("latency", value);
        }

        detector.Observe("latency", 125).Z.Should().BeNull("within three times the 10 % floor");
        detector.Observe("latency", 50).Z.Should().BeNull("only rises are anomalies");
    }

    [Fact]
    public void A_spike_does_not_move_the_baseline_so_the_next_spike_is_flagged_too()
    {
        var detector = new AnomalyDetector(MonitorOptions.Default, NoHistory);
        foreach (var value in new[] { 100.0, 100, 100, 100 })
        {
            detector.Observe("latency", value);
        }

        detector.Observe("latency", 1000).Z.Should().NotBeNull();
        detector.Observe("latency", 100).Z.Should().BeNull();
        detector.Observe("latency", 1000).Baseline.Should().Be(100, "the first spike was kept out of the mean");
        detector.Baselines()["latency"].Mean.Should().Be(100);
    }

    [Fact]
    public void A_level_that_stays_becomes_the_new_normal_after_three_anomalies_in_a_row()
    {
        var detector = new AnomalyDetector(MonitorOptions.Default, NoHistory);
        foreach (var value in new[] { 100.0, 100, 100, 100 })
        {
            detector.Observe("latency", value);
        }

        for (var i = 0; i < AnomalyDetector.AcceptAfter; i++)
        {
            detector.Observe("latency", 1000).Z.Should().NotBeNull();
        }

        detector.Baselines()["latency"].Mean.Should().BeGreaterThan(100, "the third anomaly in a row is folded in");
    }

    [Fact]
    public void History_from_earlier_runs_judges_the_first_sample_of_a_run()
    {
        var detector = new AnomalyDetector(MonitorOptions.Default, new Dictionary<string, Baseline> { ["latency"] = new(50, 100, 25) });

        var judged = detector.Observe("latency", 200);

        judged.Z.Should().BeApproximately(10, 1e-9, "a deviation of 5 (the root of the variance) is under the floor of 10: (200 - 100) / 10");
        judged.Baseline.Should().Be(100);
        detector.Observe("error_rate", 0.5).Z.Should().BeNull("a metric without history starts its own warm-up");
    }
}
