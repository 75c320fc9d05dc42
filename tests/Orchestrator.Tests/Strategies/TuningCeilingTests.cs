using System.Text.Json.Nodes;
using Orchestrator.Core.Strategies;

namespace Orchestrator.Tests.Strategies;

/// <summary>Tuning is bounded: however many times a change is applied, within a run or from earlier runs, it stops at its ceiling.</summary>
public sealed class TuningCeilingTests
{
    private static readonly PhaseStrategy Declared = new() { Name = "fast", Mode = CoordinationMode.Parallel, Concurrency = 2, Timeout = TimeSpan.FromMilliseconds(100) };

    [Fact]
    public void A_timeout_doubled_again_and_again_stops_at_four_times_the_declared_one()
    {
        var strategy = Declared;
        foreach (var ms in new[] { 200, 400, 800, 1600, 3200 })
        {
            strategy = strategy.With(new JsonObject { ["timeoutMs"] = ms });
        }

        strategy.Timeout.Should().Be(TimeSpan.FromMilliseconds(400));
        strategy.MaxTimeout.Should().Be(TimeSpan.FromMilliseconds(400), "the ceiling is measured from the declared timeout, not the tuned one");
        strategy.Declared.Should().Be(Declared);
    }

    [Fact]
    public void A_stored_change_beyond_the_ceiling_is_clamped_when_applied()
    {
        var tuned = Declared.With(new JsonObject { ["concurrency"] = 64, ["timeoutMs"] = 60_000 });

        tuned.Concurrency.Should().Be(8);
        tuned.Timeout.Should().Be(TimeSpan.FromMilliseconds(400));
    }

    [Fact]
    public void A_running_phase_takes_a_change_only_while_it_is_on_that_strategy()
    {
        var runtime = new PhaseRuntime("p", "p", Declared, items: 10);

        runtime.Apply("fast", new JsonObject { ["concurrency"] = 3 }).Should().BeTrue();
        runtime.Switch(Declared with { Name = "other" });

        runtime.Apply("fast", new JsonObject { ["concurrency"] = 6 }).Should().BeFalse("the optimizer records a change only when it took effect");
        runtime.Strategy.Name.Should().Be("other");
        runtime.Limit.Limit.Should().Be(2);
    }
}
