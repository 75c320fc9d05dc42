using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.MasterWorker;

public sealed class MasterWorkerCSharpTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly PlannerAgent _planner = new();
    private readonly SquareAgent _square = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_master_agent_splits_the_task_workers_run_the_subtasks_and_the_master_integrates_their_results()
    {
        var script = _dir.Write("planner.csx", """
            return await MasterWorker("squares", new { items = new[] { 1, 2, 3, 4 } }, master: "planner", worker: "square", concurrency: 2);
            """);

        var harness = Harness();
        var (outcome, steps) = await harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be("""{"sum":30,"count":4}""");
        steps.Select(s => (s.Id, s.Kind, s.Agent, s.Status)).Should().BeEquivalentTo(new[]
        {
            ("squares", "master-worker", (string?)null, RunStatus.Succeeded),
            ("squares/split", "split", "planner", RunStatus.Succeeded),
            ("squares/subtask-0", "subtask", "square", RunStatus.Succeeded),
            ("squares/subtask-1", "subtask", "square", RunStatus.Succeeded),
            ("squares/subtask-2", "subtask", "square", RunStatus.Succeeded),
            ("squares/subtask-3", "subtask", "square", RunStatus.Succeeded),
            ("squares/integrate", "integrate", "planner", RunStatus.Succeeded),
        });

        // The master is asked twice, split before integrate, and every worker ran in between.
        var byId = steps.ToDictionary(s => s.Id);
        byId["squares/split"].Input!.ToJsonString().Should().Be("""{"phase":"split","task":{"items":[1,2,3,4]}}""");
        byId["squares/integrate"].Input!.ToJsonString().Should().Be("""{"phase":"integrate","task":{"items":[1,2,3,4]},"results":[1,4,9,16]}""");
        var events = await harness.Journal.GetEntriesAsync(outcome.Run.Id, CancellationToken.None);
        var splitEnded = events.Single(e => e.StepId == "squares/split" && e.Event == StepEvent.Succeeded).Seq;
        var integrateStarted = events.Single(e => e.StepId == "squares/integrate" && e.Event == StepEvent.Started).Seq;
        events.Where(e => e.Kind == "subtask").Should().OnlyContain(e => e.Seq > splitEnded && e.Seq < integrateStarted);
        steps.Where(s => s.Kind == "subtask").OrderBy(s => s.Id, StringComparer.Ordinal).Select(s => s.Input!.GetValue<int>()).Should().Equal(1, 2, 3, 4);
        _planner.Calls.Should().BeEquivalentTo(new Dictionary<string, int> { ["split"] = 1, ["integrate"] = 1 });
    }

    [Fact]
    public async Task Script_functions_can_split_work_and_integrate_and_steps_inside_a_worker_nest_under_its_subtask()
    {
        var script = _dir.Write("functions.csx", """
            return await MasterWorker("words", "a bb ccc",
                Split(t => t!.GetValue<string>().Split(' ')),
                Worker(async w => (await Agent("echo").RunAsync(w))!.GetValue<string>().Length),
                Integrate((results, task) => new { task, total = results.Sum(r => r!.GetValue<int>()) }),
                concurrency: 3);
            """);

        var (outcome, steps) = await Harness().RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be("""{"task":"a bb ccc","total":6}""");
        steps.Select(s => s.Id).Should().BeEquivalentTo(
            "words", "words/split", "words/integrate",
            "words/subtask-0", "words/subtask-0/echo", "words/subtask-1", "words/subtask-1/echo", "words/subtask-2", "words/subtask-2/echo");
        steps.Single(s => s.Id == "words/subtask-2/echo").Input!.GetValue<string>().Should().Be("ccc");
        steps.Single(s => s.Id == "words").Output!.ToJsonString().Should().Be("""{"task":"a bb ccc","total":6}""");
    }

    [Fact]
    public async Task Without_an_integrate_step_of_its_own_the_result_is_the_workers_results_in_subtask_order()
    {
        var script = _dir.Write("collect.csx", """
            return await MasterWorker("collect", new[] { 3, 1, 2 }, Split(t => t), Worker("square"));
            """);

        var (outcome, steps) = await Harness().RunCsxAsync(script);

        outcome.Run.Result!.ToJsonString().Should().Be("[9,1,4]");
        steps.Single(s => s.Id == "collect/integrate").Output!.ToJsonString().Should().Be("[9,1,4]");
    }

    [Fact]
    public async Task No_more_subtasks_run_at_once_than_the_concurrency_allows()
    {
        // Calls pass the wave agent only in full waves of three, so the run finishes only if three really overlap;
        // the agent's high-water mark shows that never more did.
        var wave = new WaveAgent(width: 3);
        var script = _dir.Write("limit.csx", """
            return await MasterWorker("limited", Enumerable.Range(0, 9), Split(t => t), Worker("wave"), concurrency: 3);
            """);

        var (outcome, _) = await Harness(wave).RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be("[0,1,2,3,4,5,6,7,8]");
        wave.MaxInFlight.Should().Be(3);
    }

    [Fact]
    public async Task The_master_hears_about_every_subtask_as_it_finishes()
    {
        var script = _dir.Write("progress.csx", """
            var heard = new List<string>();
            var result = await MasterWorker("progress", new[] { 1, 2, 3, 4, 5 }, Split(t => t), Worker("square"),
                concurrency: 2, onProgress: p => heard.Add($"{p.Done}/{p.Total} #{p.Index} ok={p.Ok} {p.Output}"));
            return new { result, heard };
            """);

        var (outcome, _) = await Harness().RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        var heard = outcome.Run.Result!["heard"]!.AsArray().Select(h => h!.GetValue<string>()).ToList();
        heard.Select(h => h[..h.IndexOf(' ', StringComparison.Ordinal)]).Should().Equal("1/5", "2/5", "3/5", "4/5", "5/5");
        heard.Select(h => h[(h.IndexOf(' ', StringComparison.Ordinal) + 1)..]).Should().BeEquivalentTo(
            "#0 ok=True 1", "#1 ok=True 4", "#2 ok=True 9", "#3 ok=True 16", "#4 ok=True 25");
    }

    [Fact]
    public async Task Subtask_ids_and_result_order_follow_the_split_not_the_order_subtasks_finish_in()
    {
        // Subtask i may finish only once the master has heard that subtask i + 1 finished: they finish last to first.
        var script = _dir.Write("reverse.csx", """
            var heard = Enumerable.Range(0, 4).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
            var finished = new List<int>();
            var result = await MasterWorker("rev", Enumerable.Range(0, 4).Select(i => new { index = i }), Split(t => t),
                Worker(async (s, i) =>
                {
                    if (i < 3)
                    {
                        await heard[i + 1].Task;
                    }

                    return await Agent("echo").RunAsync("done " + s!["index"]);
                }),
                concurrency: 4,
                onProgress: p =>
                {
                    finished.Add(p.Index);
                    heard[p.Index].SetResult();
                });
            return new { result, finished };
            """);

        var (outcome, steps) = await Harness().RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!["finished"]!.ToJsonString().Should().Be("[3,2,1,0]");
        outcome.Run.Result!["result"]!.ToJsonString().Should().Be("""["done 0","done 1","done 2","done 3"]""");
        foreach (var i in Enumerable.Range(0, 4))
        {
            steps.Single(s => s.Id == $"rev/subtask-{i}").Input!["index"]!.GetValue<int>().Should().Be(i);
            steps.Single(s => s.Id == $"rev/subtask-{i}/echo").Output!.GetValue<string>().Should().Be($"done {i}");
        }
    }

    [Fact]
    public async Task A_failed_subtask_goes_through_the_recovery_chain_and_is_rescued()
    {
        var script = _dir.Write("rescue.csx", """
            return await MasterWorker("rescue", new object[] { 1, new { n = 2, failOnce = true }, 3 }, Split(t => t), Worker("square"),
                recovery: Recovery("again"));
            """);

        var (outcome, steps) = await Harness().RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be("[1,4,9]");
        steps.Where(s => s.Id.StartsWith("rescue/subtask-1", StringComparison.Ordinal)).Select(s => (s.Id, s.Kind, s.Status)).Should().Equal(
            ("rescue/subtask-1", "subtask", RunStatus.Succeeded),
            ("rescue/subtask-1/again", "recovery", RunStatus.Succeeded),
            ("rescue/subtask-1/again/square", "attempt", RunStatus.Succeeded));
        _square.Calls["rescue/subtask-1"].Should().Be(2);
    }

    [Fact]
    public async Task Without_recovery_a_failed_subtask_fails_the_step_naming_it_and_no_further_subtask_starts()
    {
        var script = _dir.Write("fails.csx", """
            try
            {
                await MasterWorker("doomed", new object[] { 1, new { n = 2, fail = true }, 3, 4 }, Split(t => t), Worker("square"), concurrency: 1);
                return "not reached";
            }
            catch (StepFailedException ex)
            {
                return ex.StepId + ": " + ex.Reason;
            }
            """);

        var (outcome, steps) = await Harness().RunCsxAsync(script);

        outcome.Run.Result!.GetValue<string>().Should().Be("doomed: subtask 1 (doomed/subtask-1) failed: cannot square 2 (call 1)");
        steps.Select(s => (s.Id, s.Status)).Should().BeEquivalentTo(new[]
        {
            ("doomed", RunStatus.Failed),
            ("doomed/split", RunStatus.Succeeded),
            ("doomed/subtask-0", RunStatus.Succeeded),
            ("doomed/subtask-1", RunStatus.Failed),
        });
    }

    [Fact]
    public async Task Continuing_on_failure_leaves_the_error_in_its_slot_for_the_master_and_degrades_the_step()
    {
        var script = _dir.Write("partial.csx", """
            return await MasterWorker("partial", new object[] { 1, new { n = 2, fail = true }, 3 }, Split(t => t), Worker("square"),
                Integrate(results => new { ok = results.Count(r => r is not JsonObject), results }), continueOnFailure: true);
            """);

        var (outcome, steps) = await Harness().RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be("""{"ok":2,"results":[1,{"error":"cannot square 2 (call 1)"},9]}""");
        var step = steps.Single(s => s.Id == "partial");
        step.Status.Should().Be(RunStatus.Degraded);
        step.Error.Should().Be("moderate: 1 of 3 subtasks failed: subtask 1: cannot square 2 (call 1)");
        step.Output!.ToJsonString().Should().Be(outcome.Run.Result!.ToJsonString());
    }

    [Fact]
    public async Task A_resumed_run_replays_the_split_and_the_finished_subtasks_and_runs_only_the_rest()
    {
        var script = _dir.Write("resume.csx", """
            return await MasterWorker("resumable", new { items = new object[] { 1, 2, new { n = 3, failOnce = true }, 4 } },
                master: "planner", worker: "square", concurrency: 1);
            """);
        var harness = Harness();

        var (first, _) = await harness.RunCsxAsync(script);
        first.Run.Status.Should().Be(RunStatus.Failed);
        var (resumed, steps) = await harness.ResumeCsxAsync(script, first.Run.Id);

        resumed.Run.Status.Should().Be(RunStatus.Succeeded, resumed.Run.Error);
        resumed.Run.Result!.ToJsonString().Should().Be("""{"sum":30,"count":4}""");
        _planner.Calls.Should().BeEquivalentTo(new Dictionary<string, int> { ["split"] = 1, ["integrate"] = 1 });
        _square.Calls.Should().BeEquivalentTo(new Dictionary<string, int>
        {
            ["resumable/subtask-0"] = 1,
            ["resumable/subtask-1"] = 1,
            ["resumable/subtask-2"] = 2,
            ["resumable/subtask-3"] = 1,
        });
        steps.Single(s => s.Id == "resumable/subtask-2").Attempt.Should().Be(2);
    }

    [Fact]
    public async Task A_split_of_the_wrong_shape_fails_the_split_step_and_a_bad_concurrency_is_refused()
    {
        var shape = _dir.Write("shape.csx", """
            return await MasterWorker("shape", 5, Split(t => new { pieces = t }), Worker("square"));
            """);
        var limit = _dir.Write("limit.csx", """
            return await MasterWorker("limit", new[] { 1 }, Split(t => t), Worker("square"), concurrency: 0);
            """);

        var (badShape, steps) = await Harness().RunCsxAsync(shape);
        var (badLimit, _) = await Harness().RunCsxAsync(limit);

        badShape.Run.Error.Should().Contain("""the split must return an array of subtasks or { "subtasks": [...] }, not {"pieces":5}""");
        steps.Single(s => s.Id == "shape/split").Status.Should().Be(RunStatus.Failed);
        badLimit.Run.Status.Should().Be(RunStatus.Failed);
        badLimit.Run.Error.Should().Contain("options.concurrency must be a whole number of at least 1, not 0");
    }

    [Fact]
    public async Task A_progress_callback_that_throws_fails_the_step()
    {
        var script = _dir.Write("observer.csx", """
            return await MasterWorker("watched", new[] { 1, 2, 3 }, Split(t => t), Worker("square"), concurrency: 1,
                onProgress: p => throw new InvalidOperationException("observer broke"));
            """);

        var (outcome, steps) = await Harness().RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Contain("step 'watched' failed: the progress callback failed on subtask 0: observer broke");
        steps.Should().NotContain(s => s.Id == "watched/subtask-1" || s.Id == "watched/integrate");
    }

    [Fact]
    public async Task Cancelling_the_run_cancels_the_running_subtasks_and_starts_no_more()
    {
        var block = new BlockingAgent();
        var script = _dir.Write("stuck.csx", """
            return await MasterWorker("stuck", new[] { 1, 2, 3 }, Split(t => t), Worker("block"), concurrency: 1);
            """);
        using var cancel = new CancellationTokenSource();

        var running = Harness(block).RunCsxAsync(script, cancellationToken: cancel.Token);
        await block.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        await cancel.CancelAsync();
        var (outcome, steps) = await running.WaitAsync(TimeSpan.FromSeconds(30));

        outcome.Run.Status.Should().Be(RunStatus.Cancelled);
        steps.Select(s => (s.Id, s.Status, s.Error)).Should().BeEquivalentTo(new[]
        {
            ("stuck", RunStatus.Failed, "cancelled"),
            ("stuck/split", RunStatus.Succeeded, (string?)null),
            ("stuck/subtask-0", RunStatus.Failed, "cancelled"),
        });
    }

    private EngineHarness Harness(params IAgent[] extra) =>
        new(TimeProvider.System, null, [_planner, _square, new EchoAgent(), .. extra], [new AgainStrategy()]);
}
