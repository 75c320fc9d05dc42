using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.JavaScript;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.MasterWorker;

/// <summary><c>masterWorker</c> in JavaScript: the same steps, ids and results as in C#.</summary>
public sealed class MasterWorkerJavaScriptTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly PlannerAgent _planner = new();
    private readonly SquareAgent _square = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_master_agent_splits_and_integrates_around_worker_agents()
    {
        var (outcome, steps) = await RunAsync("planner.js", """
            return await masterWorker("squares", { items: [1, 2, 3, 4] }, { master: "planner", worker: "square", concurrency: 2 });
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be("""{"sum":30,"count":4}""");
        steps.Select(s => (s.Id, s.Kind)).Should().BeEquivalentTo(new[]
        {
            ("squares", "master-worker"), ("squares/split", "split"), ("squares/integrate", "integrate"),
            ("squares/subtask-0", "subtask"), ("squares/subtask-1", "subtask"), ("squares/subtask-2", "subtask"), ("squares/subtask-3", "subtask"),
        });
        _planner.Calls.Should().BeEquivalentTo(new Dictionary<string, int> { ["split"] = 1, ["integrate"] = 1 });
    }

    [Fact]
    public async Task Script_functions_split_work_and_integrate_and_the_master_hears_every_subtask_within_the_limit()
    {
        var wave = new WaveAgent(width: 2);
        var (outcome, steps) = await RunAsync("functions.js", """
            const heard = [];
            const result = await masterWorker("count", "a bb ccc dddd eeeee ffffff", {
              split: (text) => text.split(" "),
              worker: async (word, index) => {
                const passed = await agent("wave").run(word);
                return { index, length: passed.length };
              },
              integrate: (results, text) => ({ text, total: results.reduce((sum, r) => sum + r.length, 0) }),
              concurrency: 2,
              onProgress: (p) => { heard.push(p); },
            });
            return { result, heard };
            """, wave);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!["result"]!.ToJsonString().Should().Be("""{"text":"a bb ccc dddd eeeee ffffff","total":21}""");
        wave.MaxInFlight.Should().Be(2);
        var heard = outcome.Run.Result!["heard"]!.AsArray();
        heard.Select(p => p!["done"]!.GetValue<int>()).Should().Equal(1, 2, 3, 4, 5, 6);
        heard.Should().OnlyContain(p => p!["total"]!.GetValue<int>() == 6 && p["ok"]!.GetValue<bool>());
        heard.Select(p => (p!["index"]!.GetValue<int>(), p["output"]!["length"]!.GetValue<int>())).Should().BeEquivalentTo(
            new[] { (0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6) });
        steps.Single(s => s.Id == "count/subtask-4/wave").Input!.GetValue<string>().Should().Be("eeeee");
    }

    [Fact]
    public async Task A_failed_subtask_is_rescued_by_the_workflows_recovery_chain_or_else_fails_the_step_naming_it()
    {
        var (outcome, steps) = await RunAsync("recovery.js", """
            setRecovery(["again"]);
            const rescued = await masterWorker("rescue", [1, { n: 2, failOnce: true }, 3], { split: (t) => t, worker: "square" });
            let failure = null;
            try {
              await masterWorker("doomed", [1, { n: 2, fail: true }], { split: (t) => t, worker: "square", recovery: [], concurrency: 1 });
            } catch (e) {
              failure = { stepId: e.stepId, reason: e.reason };
            }
            return { rescued, failure };
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be(
            """{"rescued":[1,4,9],"failure":{"stepId":"doomed","reason":"subtask 1 (doomed/subtask-1) failed: cannot square 2 (call 1)"}}""");
        steps.Should().Contain(s => s.Id == "rescue/subtask-1/again/square" && s.Status == RunStatus.Succeeded);
        steps.Single(s => s.Id == "doomed/subtask-1").Status.Should().Be(RunStatus.Failed);
    }

    [Fact]
    public async Task Continuing_on_failure_hands_the_master_the_error_in_the_failed_slot()
    {
        var (outcome, steps) = await RunAsync("partial.js", """
            const heard = [];
            const result = await masterWorker("partial", [1, { n: 2, fail: true }, 3], {
              split: (t) => t, worker: "square", continueOnFailure: true, concurrency: 1,
              onProgress: (p) => heard.push(p.ok ? p.output : p.error),
            });
            return { result, heard };
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be(
            """{"result":[1,{"error":"cannot square 2 (call 1)"},9],"heard":[1,"cannot square 2 (call 1)",9]}""");
        steps.Single(s => s.Id == "partial").Status.Should().Be(RunStatus.Degraded);
    }

    [Fact]
    public async Task Bad_options_are_type_errors_that_say_what_is_wrong()
    {
        var (outcome, _) = await RunAsync("bad.js", """
            const problems = [];
            const attempts = [
              () => masterWorker("a", [], { split: (t) => t, worker: "square", concurency: 2 }),
              () => masterWorker("b", [], { split: (t) => t, worker: "square", concurrency: 0 }),
              () => masterWorker("c", [], { split: (t) => t }),
              () => masterWorker("d", [], { worker: "square" }),
              () => masterWorker("e", [], "square"),
            ];
            for (const attempt of attempts) {
              try { await attempt(); problems.push("accepted"); } catch (e) { problems.push(e.name + ": " + e.message); }
            }
            return problems;
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        var problems = outcome.Run.Result!.AsArray().Select(p => p!.GetValue<string>()).ToList();
        problems.Should().HaveCount(5).And.OnlyContain(p => p.StartsWith("TypeError: ", StringComparison.Ordinal));
        problems[0].Should().Contain("unknown option 'concurency'");
        problems[1].Should().Contain("options.concurrency must be a whole number of at least 1");
        problems[2].Should().Contain("options.worker must be an agent kind");
        problems[3].Should().Contain("master-worker 'd' needs a master: an agent kind or a split function");
        problems[4].Should().Contain("options must be an object");
    }

    private async Task<(RunOutcome Outcome, IReadOnlyList<StepRecord> Steps)> RunAsync(string name, string source, params IAgent[] extra)
    {
        var harness = new EngineHarness(TimeProvider.System, null, [_planner, _square, new EchoAgent(), .. extra], [new AgainStrategy()]);
        var program = JavaScriptWorkflow.Compile(_dir.Write(name, source), JavaScriptOptions.Default, Logger.None);
        return await harness.RunAsync(program).WaitAsync(TimeSpan.FromSeconds(60));
    }
}
