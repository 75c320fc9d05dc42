using System.Text.Json.Nodes;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Health;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Tests.Support;
using Serilog.Core;
using Xunit;

namespace Orchestrator.Tests.Strategies;

public sealed class LearningTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-28T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public void Dispose() => _dir.Dispose();

    private string Store => Path.Combine(_dir.Path, "store");

    [Fact]
    public async Task Selection_shifts_to_the_faster_strategy_over_runs_and_stats_reports_what_was_learned()
    {
        var script = _dir.Write("learn.csx", """
            return await Phase("summarize", new[] { 1, 2, 3, 4 },
                new[] { Strategy("slow-path", agent: "sluggish"), Strategy("fast-path", agent: "quick") });
            """);
        var agents = new AgentRegistry([
            new ClockAgent("sluggish", _time, TimeSpan.FromMilliseconds(400)),
            new ClockAgent("quick", _time, TimeSpan.FromMilliseconds(10)),
        ]);

        var chosen = new List<string>();
        await using (var journal = SqliteJournal.Open(Store))
        {
            var engine = new WorkflowEngine(journal, agents, null, _time, Logger.None);
            using var program = CSharpWorkflow.Compile(script, Logger.None);
            for (var run = 0; run < 12; run++)
            {
                var outcome = await engine.RunAsync(program, null, CancellationToken.None);
                outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
                var steps = StepFolding.Fold(await journal.GetEntriesAsync(outcome.Run.Id, CancellationToken.None));
                var choice = steps.Single(s => s.Kind == "strategy").Output!;
                chosen.Add(choice["chosen"]!.GetValue<string>());
                choice["ranking"]!.AsArray().Should().HaveCount(2);
                choice["reason"]!.GetValue<string>().Should().NotBeNullOrEmpty();
            }
        }

        chosen.Take(2).Should().Equal("slow-path", "fast-path");
        chosen.Skip(2).Should().AllBe("fast-path", "the slow strategy was tried and is 40 times slower");

        var stats = await CliRunner.RunAsync("stats", "--store", Store);
        stats.ExitCode.Should().Be(0, stats.ToString());
        var rows = stats.Stdout.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        rows.Should().Contain(r => r.Length >= 7 && r[0] == "summarize" && r[1] == "fast-path" && r[2] == "quick" && r[3] == "11" && r[4] == "100%" && r[6] == "10");
        rows.Should().Contain(r => r.Length >= 7 && r[0] == "summarize" && r[1] == "slow-path" && r[2] == "sluggish" && r[3] == "1" && r[6] == "400");
    }

    [Fact]
    public async Task A_strategy_whose_agent_fails_is_abandoned_for_one_that_succeeds_in_javascript_too()
    {
        var script = _dir.Write("learn.js", """
            return await phase("extract", [1, 2, 3], {
              strategies: [{ name: "risky", agent: "broken" }, { name: "safe", agent: "steady" }],
              continueOnFailure: true,
            });
            """);
        var agents = new AgentRegistry([
            new ClockAgent("broken", _time, TimeSpan.FromMilliseconds(10)) { Fails = true },
            new ClockAgent("steady", _time, TimeSpan.FromMilliseconds(10)),
        ]);
        var journal = new InMemoryJournal();
        var engine = new WorkflowEngine(journal, agents, null, _time, Logger.None, new AgentHealthBook(_time, new CircuitOptions { MinimumThroughput = 1000 }));
        var program = Orchestrator.Scripting.JavaScript.JavaScriptWorkflow.Compile(script, Orchestrator.Scripting.JavaScript.JavaScriptOptions.Default, Logger.None);

        var statuses = new List<(string Chosen, RunStatus Phase)>();
        for (var run = 0; run < 8; run++)
        {
            var outcome = await engine.RunAsync(program, null, CancellationToken.None);
            var steps = StepFolding.Fold(await journal.GetEntriesAsync(outcome.Run.Id, CancellationToken.None));
            statuses.Add((steps.Single(s => s.Kind == "strategy").Output!["chosen"]!.GetValue<string>(), steps.Single(s => s.Kind == "phase").Status));
        }

        statuses[0].Should().Be(("risky", RunStatus.Degraded));
        statuses.Skip(1).Should().AllBeEquivalentTo(("safe", RunStatus.Succeeded));
    }
}
