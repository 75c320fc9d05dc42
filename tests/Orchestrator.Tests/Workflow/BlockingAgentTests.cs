using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;
using Orchestrator.Tests.JavaScript;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Workflow;

/// <summary>An agent that blocks its thread (not a task) cannot hold a step past its timeout, or a run past its own or past a cancel.</summary>
public sealed class BlockingAgentTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 9, 0, 0, TimeSpan.Zero));
    private readonly ThreadBlockingAgent _hang = new();

    public void Dispose()
    {
        _hang.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_step_whose_agent_blocks_its_thread_fails_at_the_step_timeout()
    {
        var harness = new EngineHarness(_time, null, [_hang], []);
        var script = _dir.Write("hang.csx", """
            try { await Agent("stuck").RunAsync(timeout: TimeSpan.FromSeconds(5)); return "finished"; }
            catch (StepFailedException ex) { return ex.Reason; }
            """);

        var run = harness.RunCsxAsync(script);
        await _hang.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        var (outcome, steps) = await AdvanceUntilAsync(run, TimeSpan.FromSeconds(1));

        outcome.Run.Result!.GetValue<string>().Should().Be("agent 'stuck' timed out after 5 s");
        steps.Single().Status.Should().Be(RunStatus.Failed);
    }

    [Fact]
    public async Task A_run_whose_first_call_blocks_its_thread_fails_at_the_run_timeout()
    {
        var harness = new EngineHarness(_time, null, [_hang], []);
        var script = _dir.Write("first.csx", "await Agent(\"stuck\").RunAsync();");

        var run = harness.RunCsxAsync(script, options: new RunOptions { Timeout = TimeSpan.FromMinutes(1) });
        await _hang.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        var (outcome, _) = await AdvanceUntilAsync(run, TimeSpan.FromSeconds(10));

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Be("the run timed out after 00:01:00");
    }

    [Fact]
    public async Task A_run_whose_agent_blocks_its_thread_ends_cancelled_when_cancelled()
    {
        var harness = new EngineHarness(_time, null, [_hang], []);
        var script = _dir.Write("cancel.csx", "await Agent(\"stuck\").RunAsync();");
        using var cancel = new CancellationTokenSource();

        var run = harness.RunCsxAsync(script, cancellationToken: cancel.Token);
        await _hang.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        await cancel.CancelAsync();
        var (outcome, _) = await AdvanceUntilAsync(run, TimeSpan.FromSeconds(1));

        outcome.Run.Status.Should().Be(RunStatus.Cancelled);
    }

    [Fact]
    public async Task A_js_step_whose_agent_blocks_its_thread_fails_at_its_timeout()
    {
        using var js = new JsHarness(_time, _hang);
        var run = js.RunAsync("""
            try { await agent("stuck").run(null, { timeoutMs: 5000 }); return "finished"; }
            catch (e) { return e.reason; }
            """);

        await _hang.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        while (!run.IsCompleted)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(run, Task.Delay(20));
        }

        (await run).Outcome.Run.Result!.GetValue<string>().Should().Be("agent 'stuck' timed out after 5 s");
    }

    /// <summary>Moves the fake clock on in steps until the run ends (the engine's own waits are on that clock), for at most a minute of real time.</summary>
    private async Task<T> AdvanceUntilAsync<T>(Task<T> run, TimeSpan step)
    {
        for (var i = 0; i < 3000 && !run.IsCompleted; i++)
        {
            _time.Advance(step);
            await Task.WhenAny(run, Task.Delay(20));
        }

        return await run.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
