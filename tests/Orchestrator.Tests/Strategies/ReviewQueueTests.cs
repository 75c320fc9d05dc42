using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Health;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Learning;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Tests.Support;
using Serilog.Core;
using Xunit;

namespace Orchestrator.Tests.Strategies;

public sealed class ReviewQueueTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => _dir.Dispose();

    private string Store => Path.Combine(_dir.Path, "store");

    [Fact]
    public async Task A_risky_recommendation_is_queued_approved_from_the_cli_and_in_effect_on_the_next_run()
    {
        // Five seconds a call: the optimization loop's first look, at 60 s, has seen the primary fail a dozen times.
        var flaky = new ClockAgent("flaky", _time, TimeSpan.FromSeconds(5), "summarize") { Fails = true };
        var solid = new ClockAgent("solid", _time, TimeSpan.FromSeconds(5), "summarize");
        var script = _dir.Write("review.csx", """
            return await Phase("summarize", Enumerable.Range(0, 16).ToArray(), new[] { Strategy("main", agent: "flaky") }, continueOnFailure: true);
            """);
        var registry = new AgentRegistry([flaky, solid]);

        // Circuits that never open, so every call reaches the agent and the clock moves.
        var health = new AgentHealthBook(_time, new CircuitOptions { MinimumThroughput = 1000 });
        using var program = CSharpWorkflow.Compile(script, Logger.None);
        string firstRun;
        await using (var journal = SqliteJournal.Open(Store))
        {
            var outcome = await new WorkflowEngine(journal, registry, null, _time, Logger.None, health).RunAsync(program, null, CancellationToken.None);
            firstRun = outcome.Run.Id;
            var steps = StepFolding.Fold(await journal.GetEntriesAsync(outcome.Run.Id, CancellationToken.None));
            var queued = steps.Should().ContainSingle(s => s.Kind == "recommendation").Subject;
            queued.Output!["kind"]!.GetValue<string>().Should().Be("swap-agent");
            queued.Output["risk"]!.GetValue<string>().Should().Be("high");
            queued.Output["status"]!.GetValue<string>().Should().Be("pending");
            queued.Output["change"]!["agent"]!.GetValue<string>().Should().Be("solid");
        }

        var listed = await CliRunner.RunAsync("review", "--store", Store);
        listed.ExitCode.Should().Be(0, listed.ToString());
        listed.Stdout.Should().Contain("pending").And.Contain("swap the primary agent of strategy 'main' from flaky to solid");

        var approved = await CliRunner.RunAsync("review", "approve", "1", "--store", Store);
        approved.ExitCode.Should().Be(0, approved.ToString());
        approved.Stdout.Should().Contain("recommendation #1 approved");
        (await CliRunner.RunAsync("review", "approve", "1", "--store", Store)).ExitCode.Should().Be(2, "a decided recommendation cannot be decided again");
        (await CliRunner.RunAsync("review", "--store", Store)).Stdout.Should().Contain("nothing to review");

        await using (var journal = SqliteJournal.Open(Store))
        {
            var outcome = await new WorkflowEngine(journal, registry, null, _time, Logger.None, health).RunAsync(program, null, CancellationToken.None);
            outcome.Run.Id.Should().NotBe(firstRun);
            outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
            var steps = StepFolding.Fold(await journal.GetEntriesAsync(outcome.Run.Id, CancellationToken.None));
            var choice = steps.Single(s => s.Kind == "strategy").Output!;
            choice["strategy"]!["agent"]!.GetValue<string>().Should().Be("solid");
            choice["tunings"]![0]!["id"]!.GetValue<long>().Should().Be(1);
            steps.Where(s => s.Kind == "work").Should().HaveCount(16).And.OnlyContain(s => s.Agent == "solid" && s.Status == RunStatus.Succeeded);
        }
    }

    [Fact]
    public async Task A_low_risk_recommendation_is_applied_at_once_journaled_and_kept_for_later_runs()
    {
        var worker = new ClockAgent("worker", _time, TimeSpan.FromSeconds(10)) { Hold = TimeSpan.FromMilliseconds(1) };
        var script = _dir.Write("raise.csx", """
            OnAnomaly(a => "noted");
            return await Phase("crunch", Enumerable.Range(0, 20).ToArray(), new[] { Strategy("steady", agent: "worker", mode: "parallel", concurrency: 1) });
            """);

        var harness = new EngineHarness(_time, Path.Combine(_dir.Path, "reports"), [worker], []);
        var (outcome, steps) = await harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        var applied = steps.First(s => s.Kind == "recommendation").Output!;
        applied["kind"]!.GetValue<string>().Should().Be("raise-concurrency");
        applied["risk"]!.GetValue<string>().Should().Be("low");
        applied["status"]!.GetValue<string>().Should().Be("applied");
        applied["change"]!["concurrency"]!.GetValue<int>().Should().Be(2);
        worker.Peak.Should().BeGreaterThan(1, "the raised limit let more items run at once");
        (await File.ReadAllTextAsync(outcome.ReportPath!)).Should().Contain("## Recommendations").And.Contain("raise concurrency from 1 to 2");

        var kept = await harness.Journal.Learning.ListRecommendationsAsync(CancellationToken.None);
        kept.Should().Contain(r => r.Kind == "raise-concurrency" && r.Status == RecommendationStatus.Applied);
        var (_, next) = await harness.RunCsxAsync(script);
        next.Single(s => s.Kind == "strategy").Output!["strategy"]!["concurrency"]!.GetValue<int>().Should().BeGreaterThanOrEqualTo(2);
    }
}
