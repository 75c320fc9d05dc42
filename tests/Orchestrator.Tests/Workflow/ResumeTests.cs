using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Workflow;

public sealed class ResumeTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CountingAgent _counter = new();
    private readonly BlockingAgent _blocker = new();
    private readonly EngineHarness _harness;

    public ResumeTests() => _harness = new EngineHarness(new EchoAgent(), _counter, _blocker);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Resume_replays_finished_steps_and_runs_only_the_rest()
    {
        var script = _dir.Write("flow.csx", """
            var a = await Agent("count").RunAsync(null, name: "a");
            var b = await Step("b", async () => await Agent("count").RunAsync(null, name: "inner"));
            await Agent("block").RunAsync();
            var c = await Agent("count").RunAsync(null, name: "c");
            return new { a, b, c };
            """);
        using var cancel = new CancellationTokenSource();
        var first = _harness.RunCsxAsync(script, cancellationToken: cancel.Token);
        await _blocker.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        await cancel.CancelAsync();
        var (interrupted, _) = await first;
        _blocker.Blocking = false;

        var (resumed, steps) = await _harness.ResumeCsxAsync(script, interrupted.Run.Id);

        interrupted.Run.Status.Should().Be(RunStatus.Cancelled);
        resumed.Run.Status.Should().Be(RunStatus.Succeeded, resumed.Run.Error);
        resumed.Run.Result!.ToJsonString().Should().Be("""{"a":"a","b":"b/inner","c":"c"}""");
        _counter.Calls.Should().BeEquivalentTo(new Dictionary<string, int> { ["a"] = 1, ["b/inner"] = 1, ["c"] = 1 }, "finished steps are replayed, not run again");
        var entries = await _harness.Journal.GetEntriesAsync(interrupted.Run.Id, default);
        entries.Where(e => e.Event == StepEvent.Succeeded).GroupBy(e => e.StepId).Should().OnlyContain(g => g.Count() == 1, "each step finishes exactly once");
        steps.Single(s => s.Id == "block").Attempt.Should().Be(2, "the step that was cut off runs again as a second attempt");
    }

    [Fact]
    public async Task Resume_refuses_a_script_that_changed_unless_forced()
    {
        var script = _dir.Write("changing.csx", "await Agent(\"block\").RunAsync();\nreturn 1;");
        using var cancel = new CancellationTokenSource();
        var first = _harness.RunCsxAsync(script, cancellationToken: cancel.Token);
        await _blocker.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        await cancel.CancelAsync();
        var (interrupted, _) = await first;
        _blocker.Blocking = false;
        File.WriteAllText(script, "await Agent(\"block\").RunAsync();\nreturn 2;");

        var refused = () => _harness.ResumeCsxAsync(script, interrupted.Run.Id);
        (await refused.Should().ThrowAsync<ResumeRefusedException>()).Which.Message.Should().Contain("changed since run").And.Contain("--force");

        var (forced, _) = await _harness.ResumeCsxAsync(script, interrupted.Run.Id, force: true);

        forced.Run.Status.Should().Be(RunStatus.Succeeded);
        forced.Run.Result!.GetValue<int>().Should().Be(2);
    }

    [Fact]
    public async Task A_succeeded_run_cannot_be_resumed()
    {
        var script = _dir.Write("done.csx", "return 1;");
        var (done, _) = await _harness.RunCsxAsync(script);

        var act = () => _harness.ResumeCsxAsync(script, done.Run.Id);

        (await act.Should().ThrowAsync<ResumeRefusedException>()).Which.Message.Should().Contain("already succeeded");
    }
}
