using System.Text.Json.Nodes;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Goals;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Learning;
using Orchestrator.Core.Strategies;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting;
using Orchestrator.Scripting.JavaScript;
using Orchestrator.Tests.Support;
using Serilog.Core;
using Xunit;

namespace Orchestrator.Tests.Strategies;

/// <summary>Learning that forgets (a half-life in runs), reliability before speed by default, and goals that weigh selection and are checked.</summary>
public sealed class GoalsAndRecencyTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("csx", """
        return await Phase("work", new[] { 1, 2, 3, 4 },
            new[] { Strategy("fastpath", agent: "fast"), Strategy("reliable", agent: "steady") }, continueOnFailure: true, exploration: 0.1);
        """)]
    [InlineData("js", """
        return await phase("work", [1, 2, 3, 4], {
          strategies: [{ name: "fastpath", agent: "fast" }, { name: "reliable", agent: "steady" }],
          continueOnFailure: true,
          exploration: 0.1,
        });
        """)]
    public async Task A_preferred_strategy_that_fails_every_item_for_three_runs_is_not_chosen_on_the_fourth(string language, string source)
    {
        var script = _dir.Write("learn." + language, source);
        var store = Path.Combine(_dir.Path, "store-" + language);
        var program = WorkflowScripts.Compile(script, JavaScriptOptions.Default, Logger.None);

        async Task<string> RunAsync(bool fastFails)
        {
            await using var journal = SqliteJournal.Open(store);
            var agents = new AgentRegistry([
                new ClockAgent("fast", _time, TimeSpan.FromMilliseconds(10)) { Fails = fastFails },
                new ClockAgent("steady", _time, TimeSpan.FromMilliseconds(50)),
            ]);
            var outcome = await new WorkflowEngine(journal, agents, null, _time, Logger.None).RunAsync(program, null, CancellationToken.None);
            var steps = StepFolding.Fold(await journal.GetEntriesAsync(outcome.Run.Id, CancellationToken.None));
            return steps.Single(s => s.Kind == "strategy").Output!["chosen"]!.GetValue<string>();
        }

        var warmUp = new List<string>();
        for (var run = 0; run < 8; run++)
        {
            warmUp.Add(await RunAsync(fastFails: false));
        }

        warmUp.Skip(2).Should().AllBe("fastpath", "the fast strategy is five times faster and as reliable");

        var failing = new List<string>();
        for (var run = 0; run < 3; run++)
        {
            failing.Add(await RunAsync(fastFails: true));
        }

        failing[0].Should().Be("fastpath", "it still led when it started failing");
        (await RunAsync(fastFails: true)).Should().Be("reliable", $"three runs in which fastpath failed every item outweigh its older successes (chosen while failing: {string.Join(", ", failing)})");
    }

    [Fact]
    public void Prefer_speed_and_prefer_reliability_choose_differently_on_the_same_history()
    {
        // fastpath: 40% of items fail, 10 ms each; careful: none fail, 25 ms each.
        var history = new List<PhaseOutcome>();
        for (var run = 0; run < 6; run++)
        {
            var at = _time.GetUtcNow();
            history.Add(new PhaseOutcome("p", "fastpath", "fast", false, 10, 4, 100, at) { RunId = "f" + run });
            history.Add(new PhaseOutcome("p", "careful", "steady", true, 10, 0, 250, at) { RunId = "c" + run });
        }

        PhaseStrategy[] candidates = [new() { Name = "fastpath", Agent = "fast" }, new() { Name = "careful", Agent = "steady" }];
        string Choose(string prefer) => StrategySelector.Rank(candidates, history, _ => null, 0, new RunGoals { Prefer = prefer })[0].Strategy.Name;

        Choose("reliability").Should().Be("careful");
        Choose("speed").Should().Be("fastpath");
        RunGoals.Default.Weights.Reliability.Should().BeGreaterThan(RunGoals.Default.Weights.Speed, "reliability outweighs speed by default");
    }

    [Theory]
    [InlineData("reliability", "careful")]
    [InlineData("speed", "fastpath")]
    public async Task Goals_stated_by_a_script_are_journaled_and_weigh_the_phase_s_choice(string prefer, string expected)
    {
        var harness = new EngineHarness(_time, null, [new ClockAgent("fast", _time, TimeSpan.FromMilliseconds(10)), new ClockAgent("steady", _time, TimeSpan.FromMilliseconds(25))], []);
        for (var run = 0; run < 6; run++)
        {
            await harness.Journal.Learning.RecordOutcomeAsync(new PhaseOutcome("p", "fastpath", "fast", false, 10, 4, 100, _time.GetUtcNow()) { RunId = "f" + run }, CancellationToken.None);
            await harness.Journal.Learning.RecordOutcomeAsync(new PhaseOutcome("p", "careful", "steady", true, 10, 0, 250, _time.GetUtcNow()) { RunId = "c" + run }, CancellationToken.None);
        }

        var script = _dir.Write($"goals-{prefer}.csx", $$"""
            await Goals(new { prefer = "{{prefer}}" });
            return await Phase("p", new[] { 1 }, new[] { Strategy("fastpath", agent: "fast"), Strategy("careful", agent: "steady") }, exploration: 0);
            """);
        var (outcome, steps) = await harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        steps.Single(s => s.Kind == "goals").Output!["prefer"]!.GetValue<string>().Should().Be(prefer);
        var choice = steps.Single(s => s.Kind == "strategy").Output!;
        choice["chosen"]!.GetValue<string>().Should().Be(expected);
        choice["goals"]!["weights"]!["reliability"]!.GetValue<double>().Should().Be(new RunGoals { Prefer = prefer }.Weights.Reliability);
    }

    [Fact]
    public async Task The_report_s_Goals_section_shows_met_and_unmet_goals_with_their_figures()
    {
        var reports = Path.Combine(_dir.Path, "reports");
        var harness = new EngineHarness(_time, reports, [new ClockAgent("flaky", _time, TimeSpan.FromMilliseconds(5)) { FailOnCall = 2 }], []);
        var script = _dir.Write("report.js", """
            await goals({ prefer: "reliability", maxFailureRate: 0.05, budget: 1000 });
            return await phase("p", [1, 2, 3, 4], { strategies: [{ name: "only", agent: "flaky" }], continueOnFailure: true });
            """);
        var program = WorkflowScripts.Compile(script, JavaScriptOptions.Default, Logger.None);
        var (outcome, steps) = await harness.RunAsync(program);

        var check = steps.Single(s => s.Kind == "goal-check").Output!;
        check["met"]!.GetValue<bool>().Should().BeFalse();
        var byGoal = check["checks"]!.AsArray().ToDictionary(c => c!["goal"]!.GetValue<string>(), c => c!.AsObject());
        byGoal["maxFailureRate"]["met"]!.GetValue<bool>().Should().BeFalse();
        byGoal["maxFailureRate"]["actual"]!.GetValue<double>().Should().Be(0.25);
        byGoal["budget"]["met"]!.GetValue<bool>().Should().BeTrue();

        var report = await File.ReadAllTextAsync(outcome.Run.Report!);
        report.Should().Contain("## Goals").And.Contain("Not every goal was met");
        report.Should().Contain("| maxFailureRate | 0.05 | 0.25 | **no** | 1 of 4 phase items failed |");
        report.Should().Contain("| budget | 1000 | 0 | yes |");
    }

    [Fact]
    public async Task Stats_shows_the_weights_its_values_use_and_prefer_changes_them()
    {
        var store = Path.Combine(_dir.Path, "stats-store");
        await using (var journal = SqliteJournal.Open(store))
        {
            for (var run = 0; run < 6; run++)
            {
                await journal.Learning.RecordOutcomeAsync(new PhaseOutcome("p", "fastpath", "fast", false, 10, 4, 100, _time.GetUtcNow()) { RunId = "f" + run }, CancellationToken.None);
                await journal.Learning.RecordOutcomeAsync(new PhaseOutcome("p", "careful", "steady", true, 10, 0, 250, _time.GetUtcNow()) { RunId = "c" + run }, CancellationToken.None);
            }
        }

        double Value(CliResult result, string strategy) => double.Parse(
            result.Stdout.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Single(r => r.Length == 8 && r[1] == strategy)[7],
            System.Globalization.CultureInfo.InvariantCulture);

        var reliability = await CliRunner.RunAsync("stats", "--store", store);
        reliability.ExitCode.Should().Be(0, reliability.ToString());
        reliability.Stdout.Should().Contain("VALUE weighs reliability 0.7, speed 0.3, cost 0 (prefer reliability)").And.Contain("counts half after 2 runs");
        Value(reliability, "careful").Should().BeGreaterThan(Value(reliability, "fastpath"));

        var speed = await CliRunner.RunAsync("stats", "--store", store, "--prefer", "speed");
        speed.Stdout.Should().Contain("VALUE weighs reliability 0.3, speed 0.7, cost 0 (prefer speed)");
        Value(speed, "fastpath").Should().BeGreaterThan(Value(speed, "careful"));
    }

    [Theory]
    [InlineData("moderate", RunStatus.Succeeded)]
    [InlineData("critical", RunStatus.Failed)]
    public async Task Once_the_agents_reported_tokens_spend_the_budget_further_calls_fail_or_degrade_by_severity(string overBudget, RunStatus expected)
    {
        var harness = new EngineHarness(_time, null, [new TokenAgent(600)], []);
        var script = _dir.Write($"budget-{overBudget}.js", $$"""
            await goals({ budget: 1000, overBudget: "{{overBudget}}" });
            const first = await agent("tokens").run({ n: 1 });
            const second = await agent("tokens").run({ n: 2 });
            const third = await agent("tokens").run({ n: 3 });
            return [first.usage.totalTokens, second.usage.totalTokens, third];
            """);
        var (outcome, steps) = await harness.RunAsync(WorkflowScripts.Compile(script, JavaScriptOptions.Default, Logger.None));

        outcome.Run.Status.Should().Be(expected, outcome.Run.Error);
        var refused = steps.Single(s => s.Id == "tokens#3");
        refused.Error.Should().Contain("the run's budget of 1000 is spent: its agents reported 1200");
        if (expected == RunStatus.Succeeded)
        {
            refused.Status.Should().Be(RunStatus.Degraded);
            outcome.Run.Result!.ToJsonString().Should().Be("[600,600,null]");
        }

        var budget = steps.Single(s => s.Kind == "goal-check").Output!["checks"]!.AsArray().Single(c => c!["goal"]!.GetValue<string>() == "budget")!;
        (budget["met"]!.GetValue<bool>(), budget["actual"]!.GetValue<double>()).Should().Be((false, 1200.0));
    }

    /// <summary>An agent that reports token usage as the llm agent does.</summary>
    private sealed class TokenAgent(int tokens) : Orchestrator.Abstractions.IAgent
    {
        public string Kind => "tokens";

        public ValueTask<Orchestrator.Abstractions.AgentResult> RunAsync(Orchestrator.Abstractions.AgentTask task, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Orchestrator.Abstractions.AgentResult.Ok(new JsonObject { ["usage"] = new JsonObject { ["totalTokens"] = tokens } }));
    }
}
