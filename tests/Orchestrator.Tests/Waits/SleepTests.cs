using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.Waits;

/// <summary>Acceptance 4: durable timers on a fake clock, and a long sleep parking a CLI run.</summary>
public sealed class SleepTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_two_hour_sleep_crashed_after_one_hour_sleeps_only_the_remaining_hour_when_resumed()
    {
        var harness = new EngineHarness(_time, null, [new EchoAgent()], []);
        var script = _dir.Write("nap.csx", """
            await Step("before", () => 1);
            await Sleep(TimeSpan.FromHours(2));
            return "awake";
            """);
        using var program = CSharpWorkflow.Compile(script, Logger.None);
        var inProcess = new RunOptions { ParkLongerThan = null };
        using var crash = new CancellationTokenSource();
        var first = harness.Engine.RunAsync(program, null, crash.Token, inProcess);
        await WaitUntilAsync(async () => (await harness.Journal.Waits.ListAsync(null, false, default)).Count == 1);
        _time.Advance(TimeSpan.FromHours(1));
        first.IsCompleted.Should().BeFalse("an hour of two has passed");
        await crash.CancelAsync();
        var crashed = await first.WaitAsync(TimeSpan.FromSeconds(30));
        crashed.Run.Status.Should().Be(RunStatus.Cancelled);

        var resumed = harness.Engine.ResumeAsync(program, crashed.Run.Id, force: false, CancellationToken.None, inProcess);
        _time.Advance(TimeSpan.FromMinutes(59));
        resumed.IsCompleted.Should().BeFalse("a minute of the remaining hour is left");
        _time.Advance(TimeSpan.FromMinutes(1));
        var outcome = await resumed.WaitAsync(TimeSpan.FromSeconds(30));

        outcome.Run.Status.Should().Be(RunStatus.Succeeded);
        outcome.Run.Result!.GetValue<string>().Should().Be("awake");
        var steps = await harness.StepsAsync(outcome.Run.Id);
        steps.Single(s => s.Id == "sleep").Output!["until"]!.GetValue<string>().Should().Be("2026-12-05T11:00:00Z");
        steps.Single(s => s.Id == "before").Attempt.Should().Be(1);
    }

    [Fact]
    public async Task A_sleep_longer_than_a_minute_parks_the_run_and_a_resume_after_its_due_time_goes_straight_on()
    {
        var harness = new EngineHarness(_time, null, [new EchoAgent()], []);
        var script = _dir.Write("long.csx", "await Sleep(TimeSpan.FromHours(2));\nreturn \"awake\";\n");

        var (parked, _) = await harness.RunCsxAsync(script);

        parked.Run.Status.Should().Be(RunStatus.Waiting);
        parked.Waiting!.DueAt.Should().Be(_time.GetUtcNow().AddHours(2));
        _time.Advance(TimeSpan.FromHours(1));
        (await harness.ResumeCsxAsync(script, parked.Run.Id)).Outcome.Run.Status.Should().Be(RunStatus.Waiting, "an hour is still left");
        _time.Advance(TimeSpan.FromHours(1));
        var (woken, _) = await harness.ResumeCsxAsync(script, parked.Run.Id);
        woken.Run.Status.Should().Be(RunStatus.Succeeded);
    }

    [Fact]
    public async Task A_long_sleep_in_a_cli_run_exits_3_saying_when_to_continue()
    {
        var store = Path.Combine(_dir.Path, "store");
        var script = _dir.Write("nap.js", "await sleep(2 * 3600 * 1000);\nreturn 1;\n");

        var run = await CliRunner.RunAsync("run", script, "--store", store);

        run.ExitCode.Should().Be(3, run.ToString());
        run.Stdout.Should().Contain("waiting for sleep until").And.Contain("orchestrator resume");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 3000 && !await condition(); i++)
        {
            await Task.Delay(10);
        }
    }
}
