using System.Text.Json.Nodes;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Abstractions;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;
using Orchestrator.Tests.Support;
using Xunit;

namespace Orchestrator.Tests.Strategies;

public sealed class AdaptationTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task An_agent_that_degrades_mid_phase_makes_the_phase_switch_strategy_notify_the_agents_and_journal_it()
    {
        var primary = new ClockAgent("primary", _time, TimeSpan.FromMilliseconds(10)) { SlowFromCall = 6, SlowLatency = TimeSpan.FromMilliseconds(500) };
        var backup = new ClockAgent("backup", _time, TimeSpan.FromMilliseconds(20));
        var script = _dir.Write("adapt.csx", """
            return await Phase("index", Enumerable.Range(0, 12).ToArray(), new[]
            {
                Strategy("primary-first", agent: "primary", minEffectiveness: 0.5),
                Strategy("fallback", agent: "backup"),
            }, window: 3);
            """);

        var (outcome, steps) = await new EngineHarness(_time, Path.Combine(_dir.Path, "reports"), [primary, backup], []).RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        var report = await File.ReadAllTextAsync(outcome.ReportPath!);
        report.Should().Contain("## Strategies").And.Contain("| index | primary-first | sequential × 1 | primary | not tried yet: exploring |")
            .And.Contain("| index | primary-first → **fallback** | switched |");
        var adapt = steps.Should().ContainSingle(s => s.Kind == "adaptation").Subject;
        adapt.Id.Should().Be("index/adapt");
        adapt.Output!["from"]!.GetValue<string>().Should().Be("primary-first");
        adapt.Output["to"]!.GetValue<string>().Should().Be("fallback");
        adapt.Output["score"]!.GetValue<double>().Should().BeLessThan(0.5);
        adapt.Output["notified"]!.AsArray().Select(n => n!.GetValue<string>()).Should().BeEquivalentTo("primary", "backup");

        // Items 0-5 ran on the primary (the sixth was the first slow one); every later item on the backup.
        var items = steps.Where(s => s.Kind == "work").OrderBy(s => s.Seq).Select(s => s.Agent).ToList();
        items.Should().Equal([.. Enumerable.Repeat("primary", 6), .. Enumerable.Repeat("backup", 6)]);

        foreach (var agent in new[] { primary, backup })
        {
            var message = agent.Messages.Should().ContainSingle().Subject;
            message.Type.Should().Be(AgentMessage.StrategyChanged);
            message.RunId.Should().Be(outcome.Run.Id);
            message.Payload!["to"]!["name"]!.GetValue<string>().Should().Be("fallback");
        }
    }

    [Fact]
    public async Task A_phase_interrupted_after_an_adaptation_resumes_on_the_adapted_strategy_and_learns_no_replayed_item()
    {
        // The primary slows down at its sixth call, so the phase switches to the backup after item 5; the backup's
        // third call (item 8) fails, which ends the run with items 6 and 7 done on the backup.
        var primary = new ClockAgent("primary", _time, TimeSpan.FromMilliseconds(10)) { SlowFromCall = 6, SlowLatency = TimeSpan.FromMilliseconds(500) };
        var backup = new ClockAgent("backup", _time, TimeSpan.FromMilliseconds(20)) { FailOnCall = 3 };
        var script = _dir.Write("adapt-resume.csx", """
            return await Phase("index", Enumerable.Range(0, 12).ToArray(), new[]
            {
                Strategy("primary-first", agent: "primary", minEffectiveness: 0.5),
                Strategy("fallback", agent: "backup"),
            }, window: 3);
            """);
        var harness = new EngineHarness(_time, null, [primary, backup], []);
        var (failed, _) = await harness.RunCsxAsync(script);
        failed.Run.Status.Should().Be(RunStatus.Failed);
        primary.Calls.Should().Be(6);

        var (resumed, steps) = await harness.ResumeCsxAsync(script, failed.Run.Id);

        resumed.Run.Status.Should().Be(RunStatus.Succeeded, resumed.Run.Error);
        primary.Calls.Should().Be(6, "the replayed items judge nothing, so the phase stays on the strategy it switched to");
        backup.Calls.Should().Be(3 + 4, "item 8 again and items 9 to 11, on the backup");
        steps.Where(s => s.Kind == "work").OrderBy(s => s.Id.Length).ThenBy(s => s.Id, StringComparer.Ordinal).Skip(6).Should().OnlyContain(s => s.Agent == "backup");
        steps.Should().ContainSingle(s => s.Kind == "adaptation");
        var learned = await harness.Journal.Learning.GetOutcomesAsync("index", CancellationToken.None);
        learned.Sum(o => o.Items).Should().Be(9 + 4, "the first attempt learned items 0 to 8; the resumed run only what it ran, items 8 to 11, not the replayed ones");
    }

    [Fact]
    public async Task A_strategy_above_its_minimum_effectiveness_is_kept()
    {
        var primary = new ClockAgent("primary", _time, TimeSpan.FromMilliseconds(10));
        var script = _dir.Write("steady.csx", """
            return await Phase("index", Enumerable.Range(0, 12).ToArray(), new[]
            {
                Strategy("primary-first", agent: "primary", minEffectiveness: 0.5),
                Strategy("fallback", agent: "backup"),
            }, window: 3);
            """);

        var (outcome, steps) = await new EngineHarness(_time, null, [primary, new ClockAgent("backup", _time, TimeSpan.FromMilliseconds(20))], []).RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        steps.Should().NotContain(s => s.Kind == "adaptation");
        primary.Messages.Should().BeEmpty();
        primary.Calls.Should().Be(12);
    }

    [Fact]
    public async Task Agents_are_provisioned_by_capability_and_held_to_their_declared_concurrency()
    {
        var narrow = new ClockAgent("narrow", _time, TimeSpan.FromMilliseconds(5), "translate") { MaxConcurrency = 2, Hold = TimeSpan.FromMilliseconds(20) };
        var script = _dir.Write("capability.js", """
            return await phase("translate", [1, 2, 3, 4, 5, 6, 7, 8], {
              strategies: [{ name: "wide", agent: "translate", mode: "parallel", concurrency: 8 }],
            });
            """);
        using var harness = new JavaScript.JsHarness(narrow);

        var run = await harness.RunAsync(File.ReadAllText(script));

        run.Outcome.Run.Status.Should().Be(RunStatus.Succeeded, run.Outcome.Run.Error);
        run.Steps.Where(s => s.Kind == "work").Should().HaveCount(8).And.OnlyContain(s => s.Agent == "narrow");
        narrow.Peak.Should().Be(2, "eight items were let go at once and the agent takes two");
        var choice = run.Steps.Single(s => s.Kind == "strategy").Output!;
        choice["state"]!["agents"]!["narrow"]!["capabilities"]!.AsArray().Select(c => c!.GetValue<string>()).Should().Equal("translate");
        choice["state"]!["agents"]!["narrow"]!["maxConcurrency"]!.GetValue<int>().Should().Be(2);
    }

    [Fact]
    public async Task A_peer_to_peer_strategy_decides_each_item_by_a_vote_of_every_agent_with_the_capability()
    {
        var script = _dir.Write("council.csx", """
            return await Phase("review", new[] { 1, 2 }, new[] { Strategy("council", agent: "review", mode: "peer-to-peer") });
            """);

        CouncilAgent[] council = [new("a"), new("b"), new("c")];
        var (outcome, steps) = await new EngineHarness(_time, null, council, []).RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        steps.Select(s => s.Id).Should().Contain(["review/item-0/propose/a", "review/item-0/vote/c", "review/item-1/tally", "review/item-1/contribute/b"]);
        var first = outcome.Run.Result!.AsArray()[0]!;
        first["agreed"]!.GetValue<bool>().Should().BeTrue();
        first["winner"]!.GetValue<string>().Should().Be("a");
        first["plan"]!.GetValue<string>().Should().Be("check item 1 the a way");
        foreach (var peer in council)
        {
            peer.Messages.Select(m => (m.Type, (string?)m.Payload!["step"]!.GetValue<string>())).Should().Equal(
                (AgentMessage.Proposal, "review/item-0"), (AgentMessage.Proposal, "review/item-1"));
            peer.Messages.First().Payload!["proposals"]!["b"]!.GetValue<string>().Should().Be("check item 1 the b way");
        }
    }

    [Fact]
    public async Task Cancelling_a_run_sends_a_cancellation_message_to_the_agents_it_provisioned()
    {
        var stuck = new ClockAgent("stuck", _time, TimeSpan.FromMilliseconds(1)) { Hold = TimeSpan.FromMinutes(5) };
        var script = _dir.Write("cancel.csx", """
            return await Phase("wait", new[] { 1 }, new[] { Strategy("only", agent: "stuck") });
            """);
        using var cancel = new CancellationTokenSource();

        var running = new EngineHarness(_time, null, [stuck], []).RunCsxAsync(script, cancellationToken: cancel.Token);
        await stuck.Called.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await cancel.CancelAsync();
        var (outcome, _) = await running.WaitAsync(TimeSpan.FromSeconds(30));

        outcome.Run.Status.Should().Be(RunStatus.Cancelled);
        var message = stuck.Messages.Should().ContainSingle().Subject;
        message.Type.Should().Be(AgentMessage.Cancellation);
        message.RunId.Should().Be(outcome.Run.Id);
    }
}
