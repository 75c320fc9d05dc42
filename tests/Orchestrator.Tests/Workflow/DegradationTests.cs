using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Workflow;

public sealed class DegradationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_critical_failure_fails_the_run_and_the_report_says_so()
    {
        var (outcome, report) = await RunAsync("critical.csx", """
            await Agent("fail").RunAsync(new { message = "disk full" }, severity: Severity.Critical);
            return "not reached";
            """);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        report.Should().MatchRegex(@"\| fail \| agent \| fail \| failed \| 1 \| [0-9.]+ \| disk full \|");
    }

    [Fact]
    public async Task A_moderate_failure_degrades_the_step_and_the_run_goes_on_with_the_fallback()
    {
        var (outcome, report) = await RunAsync("moderate.csx", """
            var cached = await Agent("fail").RunAsync(new { message = "cache offline" }, severity: Severity.Moderate, fallback: new { hits = 0 });
            return await Agent("echo").RunAsync(cached);
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be("""{"hits":0}""");
        report.Should().MatchRegex(@"\| fail \| agent \| fail \| degraded \| 1 \| [0-9.]+ \| moderate: cache offline \|");
    }

    [Fact]
    public async Task A_minor_failure_is_noted_and_the_step_counts_as_done()
    {
        var (outcome, report) = await RunAsync("minor.csx", """
            ClassifyFailures(f => f.Error.Contains("telemetry") ? Severity.Minor : null);
            await Agent("fail").RunAsync(new { message = "telemetry endpoint refused" });
            return "carried on";
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        report.Should().MatchRegex(@"\| fail \| agent \| fail \| succeeded \| 1 \| [0-9.]+ \| minor: telemetry endpoint refused \|");
    }

    [Fact]
    public async Task An_optional_parallel_branch_that_fails_is_dropped_from_the_merge()
    {
        var (outcome, report) = await RunAsync("optional.csx", """
            return await Parallel("checks", Merge.AllMustSucceed,
                Branch("unit", () => Agent("echo").RunAsync("green")),
                Branch("lint", () => Agent("fail").RunAsync(new { message = "linter crashed" }), optional: true));
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be("""{"unit":"green"}""");
        report.Should().Contain("checks/lint").And.Contain("degraded").And.Contain("optional branch dropped");
    }

    private async Task<(Orchestrator.Core.Workflow.RunOutcome Outcome, string Report)> RunAsync(string name, string source)
    {
        var harness = new EngineHarness(TimeProvider.System, Path.Combine(_dir.Path, "store"), [new EchoAgent(), new FailAgent()], []);
        var (outcome, _) = await harness.RunCsxAsync(_dir.Write(name, source));
        return (outcome, File.ReadAllText(outcome.ReportPath!));
    }
}
