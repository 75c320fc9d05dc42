using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Runs;
using Orchestrator.Core.Schedules;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.Waits;

/// <summary>Acceptance 5: a host's scheduler on a fake clock: on time, one catch-up after downtime, a skipped overlap, scripts it may not run or cannot compile.</summary>
public sealed class ScheduleTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 2, 59, 0, TimeSpan.Zero));
    private readonly Programs _programs = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_cron_schedule_starts_its_runs_on_time()
    {
        var (harness, manager, scheduler) = Host();
        await using var _ = manager;
        using var __ = scheduler;
        var script = _dir.Write("nightly.csx", "return await Step(\"work\", () => 1);\n");
        await harness.Journal.Schedules.AddAsync(new Schedule { Name = "nightly", Script = script, Cron = "0 3 * * *", CreatedAt = _time.GetUtcNow().AddHours(-1) }, default);
        scheduler.Start();
        await SettleAsync(scheduler);
        (await RunsAsync(harness)).Should().BeEmpty("03:00 has not come");

        _time.Advance(TimeSpan.FromMinutes(1));
        await UntilAsync(async () => (await RunsAsync(harness)) is [{ Status: RunStatus.Succeeded }] && manager.InFlight.Count == 0);
        await SettleAsync(scheduler);
        _time.Advance(TimeSpan.FromDays(1));
        await UntilAsync(async () => (await RunsAsync(harness)).Count == 2);

        var runs = await RunsAsync(harness);
        runs.Select(r => r.StartedAt).Should().Equal(_time.GetUtcNow().AddDays(-1), _time.GetUtcNow());
        (await harness.Journal.Schedules.ListAsync(default)).Single().LastRunId.Should().Be(runs[^1].Id);
    }

    [Fact]
    public async Task Occurrences_missed_while_no_host_ran_are_caught_up_with_one_run()
    {
        var (harness, manager, scheduler) = Host();
        await using var _ = manager;
        using var __ = scheduler;
        var script = _dir.Write("hourly.csx", "return 1;\n");
        await harness.Journal.Schedules.AddAsync(new Schedule { Name = "hourly", Script = script, Cron = "0 * * * *", CreatedAt = _time.GetUtcNow().AddDays(-3) }, default);

        await scheduler.TickAsync(default);
        await scheduler.TickAsync(default);

        await UntilAsync(async () => (await RunsAsync(harness)).Count >= 1);
        (await RunsAsync(harness)).Should().ContainSingle("72 missed occurrences make one catch-up run");
        (await harness.Journal.Schedules.ListAsync(default)).Single().LastOccurrence.Should().Be(new DateTimeOffset(2026, 12, 5, 2, 0, 0, TimeSpan.Zero));
    }

    [Fact]
    public async Task An_occurrence_is_skipped_while_the_previous_run_still_runs()
    {
        var (harness, manager, scheduler) = Host();
        await using var _ = manager;
        using var __ = scheduler;
        var script = _dir.Write("slow.csx", "return await Step(\"long\", async () => { await Task.Delay(Timeout.Infinite, CancellationToken); return 1; });\n");
        await harness.Journal.Schedules.AddAsync(new Schedule { Name = "slow", Script = script, Cron = "0 3 * * *", CreatedAt = _time.GetUtcNow().AddHours(-1) }, default);
        _time.Advance(TimeSpan.FromMinutes(1));
        await scheduler.TickAsync(default);
        var first = manager.InFlight.Should().ContainSingle().Subject;

        _time.Advance(TimeSpan.FromDays(1));
        await scheduler.TickAsync(default);

        (await RunsAsync(harness)).Should().ContainSingle("the next night's occurrence came while the first run still ran");
        (await harness.Journal.Schedules.ListAsync(default)).Single().LastOccurrence.Should().Be(_time.GetUtcNow());
        first.Cancel();
        await first.Completion;
        _time.Advance(TimeSpan.FromDays(1));
        await scheduler.TickAsync(default);
        (await RunsAsync(harness)).Should().HaveCount(2, "once it ended, the next occurrence starts a run");
    }

    [Fact]
    public async Task A_script_outside_the_scripts_folder_is_not_started_and_its_occurrence_is_passed()
    {
        var (harness, manager, scheduler) = Host(mayRun: _ => false);
        await using var _ = manager;
        using var __ = scheduler;
        var script = _dir.Write("elsewhere.csx", "return 1;\n");
        await harness.Journal.Schedules.AddAsync(new Schedule { Name = "elsewhere", Script = script, Cron = "0 3 * * *", CreatedAt = _time.GetUtcNow().AddHours(-1) }, default);
        _time.Advance(TimeSpan.FromMinutes(1));

        await scheduler.TickAsync(default);

        (await RunsAsync(harness)).Should().BeEmpty();
        _programs.Compiles.Should().Be(0, "the script is not even compiled");
        var schedule = (await harness.Journal.Schedules.ListAsync(default)).Single();
        (schedule.LastOccurrence, schedule.LastRunId).Should().Be((_time.GetUtcNow(), (string?)null));
    }

    [Fact]
    public async Task A_script_that_does_not_compile_is_tried_again_at_the_next_occurrence_not_before()
    {
        var (harness, manager, scheduler) = Host();
        await using var _ = manager;
        using var __ = scheduler;
        var script = _dir.Write("broken.csx", "return undefinedThing;\n");
        await harness.Journal.Schedules.AddAsync(new Schedule { Name = "broken", Script = script, Cron = "0 3 * * *", CreatedAt = _time.GetUtcNow().AddHours(-1) }, default);
        _time.Advance(TimeSpan.FromMinutes(1));

        await scheduler.TickAsync(default);
        await scheduler.TickAsync(default);

        (await RunsAsync(harness)).Should().BeEmpty();
        _programs.Compiles.Should().Be(1, "the occurrence was dealt with by the failed attempt");
        File.WriteAllText(script, "return 1;\n");
        _time.Advance(TimeSpan.FromDays(1));
        await scheduler.TickAsync(default);
        (await RunsAsync(harness)).Should().ContainSingle().Which.StartedAt.Should().Be(_time.GetUtcNow());
        _programs.Compiles.Should().Be(2);
    }

    [Fact]
    public async Task Schedule_add_list_and_remove_keep_schedules_in_the_store()
    {
        var store = Path.Combine(_dir.Path, "store");
        var script = _dir.Write("nightly.js", "return 1;\n");

        var added = await CliRunner.RunAsync("schedule", "add", script, "--cron", "0 3 * * *", "--input", """{"full":true}""", "--store", store);
        added.ExitCode.Should().Be(0, added.ToString());
        added.Stdout.Should().Contain("schedule 'nightly' added");
        (await CliRunner.RunAsync("schedule", "add", script, "--cron", "0 3 * * *", "--store", store)).Stderr.Should().Contain("a schedule named 'nightly' exists");
        var listed = await CliRunner.RunAsync("schedule", "list", "--store", store);
        listed.Stdout.Should().MatchRegex(@"nightly\s+0 3 \* \* \*\s+\d{4}-\d\d-\d\dT03:00:00Z");

        (await CliRunner.RunAsync("schedule", "remove", "nightly", "--store", store)).ExitCode.Should().Be(0);
        (await CliRunner.RunAsync("schedule", "list", "--store", store)).Stdout.Should().Contain("no schedules");
    }

    private (EngineHarness Harness, RunManager Manager, Scheduler Scheduler) Host(Func<string, bool>? mayRun = null)
    {
        var harness = new EngineHarness(_time, null, [new EchoAgent()], []);
        var manager = new RunManager(harness.Engine, harness.Journal, _programs, Logger.None, _time) { MayRun = mayRun ?? (_ => true) };
        return (harness, manager, new Scheduler(manager, harness.Journal, _time, Logger.None));
    }

    private static async Task<IReadOnlyList<RunRecord>> RunsAsync(EngineHarness harness) => await harness.Journal.ListRunsAsync(default);

    /// <summary>Lets a tick the fake clock fired finish: the next one waits for it.</summary>
    private static async Task SettleAsync(Scheduler scheduler) => await scheduler.TickAsync(default);

    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 3000 && !await condition(); i++)
        {
            await Task.Delay(10);
        }
    }

    private sealed class Programs : IProgramSource
    {
        private int _compiles;

        public int Compiles => _compiles;

        public IWorkflowProgram Get(string scriptPath, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _compiles);
            return CSharpWorkflow.Compile(scriptPath, Logger.None, cancellationToken);
        }
    }
}
