using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Scripting;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.CSharp;

public sealed class CSharpWorkflowTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly EngineHarness _harness = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Script_input_reaches_the_agent_and_the_return_value_is_the_run_result()
    {
        var script = _dir.Write("echo.csx", """
            var echoed = await Agent("echo").RunAsync(new { greeting = "hi " + Input!["name"]!.GetValue<string>() });
            return new { said = echoed!["greeting"]!.GetValue<string>() };
            """);

        var (outcome, steps) = await _harness.RunCsxAsync(script, JsonNode.Parse("""{"name":"ada"}"""));

        outcome.Run.Status.Should().Be(RunStatus.Succeeded);
        outcome.Run.Result!.ToJsonString().Should().Be("""{"said":"hi ada"}""");
        steps.Should().ContainSingle().Which.Should().Match<StepRecord>(s => s.Id == "echo" && s.Kind == "agent" && s.Agent == "echo");
    }

    [Fact]
    public async Task Steps_inside_a_step_get_nested_ids_and_repeats_get_ordinals()
    {
        var script = _dir.Write("nested.csx", """
            await Step("outer", async () =>
            {
                await Agent("echo").RunAsync(1);
                await Agent("echo").RunAsync(2);
                return await Step("inner", () => Agent("echo").RunAsync(3));
            });
            await Agent("echo").RunAsync(4);
            """);

        var (outcome, steps) = await _harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded);
        steps.Select(s => s.Id).Should().Equal("outer", "outer/echo", "outer/echo#2", "outer/inner", "outer/inner/echo", "echo");
        steps.Single(s => s.Id == "outer").Output!.GetValue<int>().Should().Be(3);
    }

    [Fact]
    public async Task A_sequence_passes_the_context_from_stage_to_stage()
    {
        var script = _dir.Write("sequence.csx", """
            return await Sequence("pipeline", new { count = 1 },
                Stage("double", async ctx => new { count = ctx!["count"]!.GetValue<int>() * 2 }),
                Stage("label", async ctx => new { label = "n=" + ctx!["count"] }));
            """);

        var (outcome, steps) = await _harness.RunCsxAsync(script);

        outcome.Run.Result!.ToJsonString().Should().Be("""{"count":2,"label":"n=2"}""");
        steps.Single(s => s.Id == "pipeline/label").Input!.ToJsonString().Should().Be("""{"count":2}""");
    }

    [Fact]
    public async Task Parallel_branches_run_at_the_same_time()
    {
        // Each branch opens its own gate and waits for the other's: sequential execution would never finish.
        var script = _dir.Write("overlap.csx", """
            return await Parallel("both", Merge.AllMustSucceed,
                Branch("a", () => Agent("gate").RunAsync(new { signal = "a", wait = "b", value = 1 })),
                Branch("b", () => Agent("gate").RunAsync(new { signal = "b", wait = "a", value = 2 })));
            """);

        var (outcome, _) = await _harness.RunCsxAsync(script);

        outcome.Run.Error.Should().BeNull();
        outcome.Run.Result!.ToJsonString().Should().Be("""{"a":1,"b":2}""");
    }

    [Fact]
    public async Task All_must_succeed_fails_the_parallel_step_naming_the_failed_branch()
    {
        var script = _dir.Write("all.csx", """
            await Parallel("checks", Merge.AllMustSucceed,
                Branch("good", () => Agent("echo").RunAsync(1)),
                Branch("bad", () => Agent("fail").RunAsync(new { message = "lint broke" })));
            """);

        var (outcome, steps) = await _harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Contain("bad: ").And.Contain("lint broke").And.Contain("all.csx(1)");
        steps.Single(s => s.Id == "checks").Status.Should().Be(RunStatus.Failed);
    }

    [Fact]
    public async Task First_success_returns_the_winner_even_when_another_branch_fails()
    {
        var script = _dir.Write("first.csx", """
            return await Parallel("mirror", Merge.FirstSuccess,
                Branch("down", () => Agent("fail").RunAsync(new { message = "mirror down" })),
                Branch("up", () => Agent("echo").RunAsync("payload")));
            """);

        var (outcome, _) = await _harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded);
        outcome.Run.Result!.GetValue<string>().Should().Be("payload");
    }

    [Fact]
    public async Task First_success_fails_only_when_every_branch_fails()
    {
        var script = _dir.Write("nofirst.csx", """
            await Parallel("mirror", Merge.FirstSuccess,
                Branch("a", () => Agent("fail").RunAsync(new { message = "a down" })),
                Branch("b", () => Agent("fail").RunAsync(new { message = "b down" })));
            """);

        var (outcome, _) = await _harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Contain("a down").And.Contain("b down");
    }

    [Fact]
    public async Task Collect_all_reports_every_branch_and_never_fails()
    {
        var script = _dir.Write("collect.csx", """
            return await Parallel("survey", Merge.CollectAll,
                Branch("ok", () => Agent("echo").RunAsync(7)),
                Branch("broken", () => Agent("fail").RunAsync(new { message = "nope" })));
            """);

        var (outcome, _) = await _harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded);
        var result = outcome.Run.Result!;
        result["ok"]!["ok"]!.GetValue<bool>().Should().BeTrue();
        result["ok"]!["output"]!.GetValue<int>().Should().Be(7);
        result["broken"]!["ok"]!.GetValue<bool>().Should().BeFalse();
        result["broken"]!["error"]!.GetValue<string>().Should().Contain("nope");
    }

    [Fact]
    public async Task Combine_merges_objects_and_asks_the_script_about_conflicting_keys()
    {
        var script = _dir.Write("combine.csx", """
            var conflicts = new List<string>();
            var merged = await Parallel("config", Merge.Combine((key, current, incoming) =>
                {
                    conflicts.Add(key);
                    return current!.GetValue<int>() + incoming!.GetValue<int>();
                }),
                Branch("a", () => Agent("echo").RunAsync(new { shared = 1, onlyA = "x", nested = new { n = 10 } })),
                Branch("b", () => Agent("echo").RunAsync(new { shared = 2, onlyB = "y", nested = new { n = 5 } })));
            return new { merged, conflicts };
            """);

        var (outcome, _) = await _harness.RunCsxAsync(script);

        outcome.Run.Error.Should().BeNull();
        outcome.Run.Result!["merged"]!.ToJsonString().Should().Be("""{"shared":3,"onlyA":"x","nested":{"n":15},"onlyB":"y"}""");
        outcome.Run.Result!["conflicts"]!.AsArray().Select(n => n!.GetValue<string>()).Should().Equal("shared", "nested.n");
    }

    [Fact]
    public async Task Ids_inside_parallel_branches_do_not_depend_on_interleaving()
    {
        var script = _dir.Write("ids.csx", """
            await Parallel("p", Merge.AllMustSucceed,
                Branch("a", async () => { await Agent("gate").RunAsync(new { signal = "a1", wait = "b1" }); return await Agent("gate").RunAsync(new { }); }),
                Branch("b", async () => { await Agent("gate").RunAsync(new { signal = "b1", wait = "a1" }); return await Agent("gate").RunAsync(new { }); }));
            """);

        var (outcome, steps) = await _harness.RunCsxAsync(script);

        outcome.Run.Error.Should().BeNull();
        steps.Select(s => s.Id).Should().BeEquivalentTo("p", "p/a", "p/b", "p/a/gate", "p/a/gate#2", "p/b/gate", "p/b/gate#2");
    }

    [Fact]
    public async Task A_failed_step_can_be_caught_by_the_script()
    {
        var script = _dir.Write("catch.csx", """
            try
            {
                await Agent("fail").RunAsync(new { message = "expected" });
                return "not reached";
            }
            catch (StepFailedException ex)
            {
                return ex.StepId + ": " + ex.Reason;
            }
            """);

        var (outcome, steps) = await _harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded);
        outcome.Run.Result!.GetValue<string>().Should().Be("fail: expected");
        steps.Single().Status.Should().Be(RunStatus.Failed);
    }

    [Fact]
    public async Task An_unknown_agent_fails_the_run_and_lists_the_known_ones()
    {
        var script = _dir.Write("unknown.csx", """
            await Agent("echo").RunAsync(1);
            await Agent("nope").RunAsync(2);
            """);

        var (outcome, steps) = await _harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Contain("unknown.csx(2)").And.Contain("unknown agent 'nope'").And.Contain("echo, fail");
        steps.Single(s => s.Id == "echo").Status.Should().Be(RunStatus.Succeeded, "what ran before the failure stays journaled");
    }

    [Fact]
    public async Task An_exception_thrown_by_the_script_names_the_script_line()
    {
        var script = _dir.Write("throws.csx", """
            await Agent("echo").RunAsync(1);

            throw new InvalidOperationException("the plan fell through");
            """);

        var (outcome, _) = await _harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Be($"{script}(3): the plan fell through");
    }

    [Fact]
    public void A_compile_error_names_the_file_line_column_and_code()
    {
        var script = _dir.Write("broken.csx", """
            var x = 1;
            var y = undefinedThing + x;
            """);

        var act = () => CSharpWorkflow.Compile(script, Logger.None);

        act.Should().Throw<ScriptCompilationException>()
            .Which.Message.Should().StartWith($"{script}(2,9): error CS0103:");
    }
}
