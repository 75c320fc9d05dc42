using Orchestrator.Core.Goals;
using Orchestrator.Core.Learning;
using Orchestrator.Core.Strategies;

namespace Orchestrator.Tests.Units;

/// <summary>The strategy selector alone: untried first, unavailable last, recency, the failure-rate limit, exploration.</summary>
public sealed class StrategySelectorTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 5, 6, 0, 0, TimeSpan.Zero);
    private static readonly PhaseStrategy A = new() { Name = "a", Agent = "x" };
    private static readonly PhaseStrategy B = new() { Name = "b", Agent = "y" };

    private static PhaseOutcome Outcome(string strategy, string run, long items, long failed, double ms = 100) =>
        new("p", strategy, "x", failed == 0, items, failed, ms, At) { RunId = run };

    private static IReadOnlyList<RankedStrategy> Rank(IReadOnlyList<PhaseOutcome> newestFirst, Func<PhaseStrategy, string?>? unavailable = null, double exploration = 0, RunGoals? goals = null) =>
        StrategySelector.Rank([A, B], newestFirst, unavailable ?? (_ => null), exploration, goals ?? RunGoals.Default);

    [Fact]
    public void An_untried_strategy_goes_first_and_ties_keep_the_scripts_order()
    {
        Rank([Outcome("a", "r1", 10, 0)])[0].Strategy.Should().Be(B, "b was never tried");
        Rank([])[0].Strategy.Should().Be(A, "neither was tried: the script's order");
    }

    [Fact]
    public void A_strategy_whose_agents_are_missing_goes_last_with_the_reason()
    {
        var ranked = Rank([Outcome("a", "r1", 10, 0), Outcome("b", "r1", 10, 5)], s => s == A ? "no agent of kind 'x'" : null);

        ranked[0].Strategy.Should().Be(B);
        ranked[1].Available.Should().BeFalse();
        ranked[1].Reason.Should().Be("no agent of kind 'x'");
    }

    [Fact]
    public void Recent_failures_outweigh_older_successes()
    {
        // Newest first: a failed every item in the last three runs, after seven good ones; b is steady at 60 %.
        var history = new List<PhaseOutcome>();
        for (var run = 0; run < 10; run++)
        {
            history.Add(Outcome("a", "r" + run, 10, run < 3 ? 10 : 0));
            history.Add(Outcome("b", "r" + run, 10, 4));
        }

        Rank(history)[0].Strategy.Should().Be(B);
        Rank(history, goals: RunGoals.Default with { HalfLife = 1000 })[0].Strategy.Should().Be(A, "with next to no forgetting, a's 70 % beats b's 60 %");
    }

    [Fact]
    public void A_failure_rate_over_the_goals_limit_halves_the_value()
    {
        List<PhaseOutcome> history = [Outcome("a", "r1", 10, 2), Outcome("b", "r1", 10, 3, ms: 10)];

        var free = Rank(history).Single(r => r.Strategy == A).Value;
        var limited = Rank(history, goals: RunGoals.Default with { MaxFailureRate = 0.1 }).Single(r => r.Strategy == A);

        limited.Value.Should().BeApproximately(free / 2, 1e-9);
        limited.Reason.Should().Contain("over the goal's failure rate 0.1 (value halved)");
    }

    [Fact]
    public void Exploration_adds_a_bonus_that_shrinks_as_a_strategy_is_tried_more()
    {
        var history = new List<PhaseOutcome> { Outcome("b", "r0", 10, 0) };
        for (var run = 0; run < 8; run++)
        {
            history.Add(Outcome("a", "r" + (run + 1), 10, 0));
        }

        var ranked = Rank(history, exploration: 0.5);

        ranked.Single(r => r.Strategy == B).Bonus.Should().BeGreaterThan(ranked.Single(r => r.Strategy == A).Bonus);
        Rank(history, exploration: 0).Should().OnlyContain(r => r.Bonus == 0);
    }

    [Fact]
    public void A_tuned_strategy_prints_as_its_json_instead_of_recursing()
    {
        var tuned = A.With(new System.Text.Json.Nodes.JsonObject { ["concurrency"] = 2 });

        tuned.ToString().Should().Be(tuned.ToJson().ToJsonString());
    }
}
