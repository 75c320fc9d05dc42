using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Waits;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Waits;

/// <summary>Approvals in the engine, on a fake clock: the timeout, and a rejection taking the severity path.</summary>
public sealed class ApprovalEngineTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task An_approval_not_decided_by_its_timeout_fails_the_step_when_resumed_after_the_due_time()
    {
        var harness = new EngineHarness(_time, null, [new EchoAgent()], []);
        var script = _dir.Write("timeout.csx", """
            await Approval("deploy", new { version = "2" }, timeout: TimeSpan.FromHours(4));
            return "deployed";
            """);
        var (parked, _) = await harness.RunCsxAsync(script);
        parked.Run.Status.Should().Be(RunStatus.Waiting);
        parked.Waiting!.DueAt.Should().Be(_time.GetUtcNow().AddHours(4));

        _time.Advance(TimeSpan.FromHours(3) + TimeSpan.FromMinutes(59));
        var (early, _) = await harness.ResumeCsxAsync(script, parked.Run.Id);
        early.Run.Status.Should().Be(RunStatus.Waiting, "the due time is the first attempt's, and it has not come");

        _time.Advance(TimeSpan.FromMinutes(1));
        var (late, steps) = await harness.ResumeCsxAsync(script, parked.Run.Id);

        late.Run.Status.Should().Be(RunStatus.Failed);
        late.Run.Error.Should().Contain("approval 'deploy' timed out at 2026-12-05T13:00:00Z");
        steps.Single(s => s.Id == "deploy").Status.Should().Be(RunStatus.Failed);
        (await harness.Journal.Waits.ListAsync(parked.Run.Id, includeClosed: false, default)).Should().BeEmpty("the timed-out wait is closed");
    }

    [Fact]
    public async Task A_rejection_with_moderate_severity_returns_the_fallback_and_the_run_goes_on()
    {
        var harness = new EngineHarness(_time, null, [new EchoAgent()], []);
        var script = _dir.Write("optional.csx", """
            var decision = await Approval("canary", null, severity: Severity.Moderate, fallback: new { approved = false, skipped = true });
            return decision;
            """);
        var (parked, _) = await harness.RunCsxAsync(script);
        await WaitDecisions.DecideAsync(harness.Journal, parked.Run.Id, "canary", approved: false, "dave", "no canary today", _time.GetUtcNow(), default);

        var (resumed, steps) = await harness.ResumeCsxAsync(script, parked.Run.Id);

        resumed.Run.Status.Should().Be(RunStatus.Succeeded);
        resumed.Run.Result!["skipped"]!.GetValue<bool>().Should().BeTrue();
        var step = steps.Single(s => s.Id == "canary");
        step.Status.Should().Be(RunStatus.Degraded);
        step.Error.Should().Be("moderate: approval 'canary' was rejected by dave: no canary today");
        steps.Single(s => s.Id == "canary/decision").Output!["approved"]!.GetValue<bool>().Should().BeFalse();
    }

    [Fact]
    public async Task A_script_that_catches_the_wait_still_parks_and_runs_nothing_after_it()
    {
        var harness = new EngineHarness(_time, null, [new EchoAgent()], []);
        var script = _dir.Write("catching.csx", """
            try { await Approval("deploy"); } catch (Exception) { }
            await Step("after", () => 1);
            return "done";
            """);

        var (parked, steps) = await harness.RunCsxAsync(script);

        parked.Run.Status.Should().Be(RunStatus.Waiting);
        steps.Should().NotContain(s => s.Id == "after");
        steps.Single(s => s.Id == "deploy").Status.Should().Be(RunStatus.Running, "a parked wait journals no end");
    }
}
