using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Workflow;

public sealed class TimeoutTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero));
    private readonly BlockingAgent _blocker = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_step_that_outlives_its_timeout_fails_as_timed_out_when_the_clock_says_so()
    {
        var harness = new EngineHarness(_time, null, [_blocker, new EchoAgent()], []);
        var script = _dir.Write("slow.csx", """
            try
            {
                await Agent("block").RunAsync(timeout: TimeSpan.FromSeconds(5));
                return "finished";
            }
            catch (StepFailedException ex)
            {
                return ex.Reason;
            }
            """);

        var run = harness.RunCsxAsync(script);
        await _blocker.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        _time.Advance(TimeSpan.FromSeconds(4));
        run.IsCompleted.Should().BeFalse("four seconds is within the limit");
        _time.Advance(TimeSpan.FromSeconds(1));
        var (outcome, steps) = await run;

        outcome.Run.Result!.GetValue<string>().Should().Be("agent 'block' timed out after 5 s");
        steps.Single().Status.Should().Be(RunStatus.Failed);
    }

    [Fact]
    public async Task The_workflow_step_timeout_applies_to_steps_without_their_own()
    {
        var harness = new EngineHarness(_time, null, [_blocker], []);
        var script = _dir.Write("default.csx", "SetStepTimeout(TimeSpan.FromMinutes(2));\nawait Agent(\"block\").RunAsync();");

        var run = harness.RunCsxAsync(script);
        await _blocker.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        _time.Advance(TimeSpan.FromMinutes(2));
        var (outcome, _) = await run;

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Contain("timed out after 120 s");
    }

    [Fact]
    public async Task A_run_past_its_own_timeout_fails_as_timed_out_not_cancelled()
    {
        var harness = new EngineHarness(_time, null, [_blocker], []);
        var script = _dir.Write("long.csx", "await Agent(\"block\").RunAsync();");

        var run = harness.RunCsxAsync(script, options: new RunOptions { Timeout = TimeSpan.FromMinutes(10) });
        await _blocker.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        _time.Advance(TimeSpan.FromMinutes(10));
        var (outcome, steps) = await run;

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Be("the run timed out after 00:10:00");
        steps.Single().Error.Should().Be("cancelled");
    }
}
