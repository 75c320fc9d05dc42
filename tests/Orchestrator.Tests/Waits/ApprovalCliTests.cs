using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Waits;

/// <summary>Acceptance 1 through the real command line: a run that asks for an approval ends waiting (exit 3), is decided, and completes on resume.</summary>
public sealed class ApprovalCliTests : IDisposable
{
    private const string Csx = """
        var build = await Step("build", () => new { version = "1.4.2" });
        var decision = await Approval("deploy", new { version = build!["version"]!.GetValue<string>() }, timeout: TimeSpan.FromHours(4));
        var deployed = await Step("deploy-step", () => new { by = decision!["by"]!.GetValue<string>() });
        return deployed;
        """;

    private const string Js = """
        const build = await step("build", async () => ({ version: "1.4.2" }));
        const decision = await approval("deploy", { version: build.version }, { timeoutMs: 4 * 3600 * 1000 });
        return await step("deploy-step", async () => ({ by: decision.by }));
        """;

    private readonly TempDirectory _dir = new();

    private string Store => Path.Combine(_dir.Path, "store");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("release.csx", Csx)]
    [InlineData("release.js", Js)]
    public async Task A_run_asking_for_an_approval_exits_3_shows_waiting_and_completes_with_the_decision_after_approve_and_resume(string file, string source)
    {
        var script = _dir.Write(file, source);

        var run = await CliRunner.RunAsync("run", script, "--store", Store);

        run.ExitCode.Should().Be(3, run.ToString());
        var runId = WaitingRuns.IdOf(run.Stdout);
        run.Stdout.Should().Contain($"run {runId} waiting")
            .And.Contain("waiting for approval 'deploy'")
            .And.Contain($"orchestrator approve {runId} deploy")
            .And.Contain("\"version\":\"1.4.2\"");
        run.Stderr.Should().BeEmpty();

        var runs = await CliRunner.RunAsync("runs", "--store", Store);
        runs.Stdout.Split('\n').Should().Contain(line => line.Contains(runId) && line.Contains("waiting") && !line.Contains("interrupted"));

        var approve = await CliRunner.RunAsync("approve", runId, "deploy", "--by", "alice", "--comment", "ship it", "--store", Store);
        approve.ExitCode.Should().Be(0, approve.ToString());
        approve.Stdout.Should().Contain($"approval 'deploy' of run {runId} approved by alice");

        var resume = await CliRunner.RunAsync("resume", runId, "--store", Store, "--json");

        resume.ExitCode.Should().Be(0, resume.ToString());
        var outcome = JsonNode.Parse(resume.LastLine)!;
        outcome["status"]!.GetValue<string>().Should().Be("succeeded");
        outcome["result"]!["by"]!.GetValue<string>().Should().Be("alice");
        var steps = await WaitingRuns.StepsAsync(Store, runId);
        var decision = steps.Single(s => s.Id == "deploy/decision");
        decision.Status.Should().Be(RunStatus.Succeeded);
        decision.Output!["approved"]!.GetValue<bool>().Should().BeTrue();
        decision.Output!["by"]!.GetValue<string>().Should().Be("alice");
        decision.Output!["comment"]!.GetValue<string>().Should().Be("ship it");
        decision.Output!["at"]!.GetValue<string>().Should().NotBeNullOrEmpty();
        steps.Single(s => s.Id == "build").Attempt.Should().Be(1, "the build ran once; the resume replayed it");
        var report = File.ReadAllText(outcome["report"]!.GetValue<string>());
        report.Should().Contain("## Approvals").And.MatchRegex(@"\| deploy \| approved \| alice \| [^|]+ \| ship it \|");
    }

    [Fact]
    public async Task Approve_with_resume_continues_the_run_in_process()
    {
        var script = _dir.Write("release.js", Js);
        var runId = WaitingRuns.IdOf((await CliRunner.RunAsync("run", script, "--store", Store)).Stdout);

        var approve = await CliRunner.RunAsync("approve", runId, "--by", "bob", "--resume", "--store", Store);

        approve.ExitCode.Should().Be(0, approve.ToString());
        approve.Stdout.Should().Contain($"run {runId} succeeded");
        (await StatusAsync(runId)).Should().Be(RunStatus.Succeeded);
    }

    [Fact]
    public async Task A_rejection_fails_the_step_through_severity_and_the_report_shows_it()
    {
        var script = _dir.Write("release.csx", Csx);
        var runId = WaitingRuns.IdOf((await CliRunner.RunAsync("run", script, "--store", Store)).Stdout);

        var reject = await CliRunner.RunAsync("review", "reject", runId, "--by", "carol", "--comment", "not on a Friday", "--store", Store);
        reject.ExitCode.Should().Be(0, reject.ToString());
        var resume = await CliRunner.RunAsync("resume", runId, "--store", Store, "--json");

        resume.ExitCode.Should().Be(1, resume.ToString());
        resume.Stderr.Should().Contain("approval 'deploy' was rejected by carol: not on a Friday");
        var steps = await WaitingRuns.StepsAsync(Store, runId);
        steps.Single(s => s.Id == "deploy").Status.Should().Be(RunStatus.Failed);
        steps.Should().NotContain(s => s.Id == "deploy-step");
        var report = File.ReadAllText(JsonNode.Parse(resume.LastLine)!["report"]!.GetValue<string>());
        report.Should().MatchRegex(@"\| deploy \| \*\*rejected\*\* \| carol \| [^|]+ \| not on a Friday \|");
    }

    [Fact]
    public async Task Review_lists_pending_approvals_beside_recommendations_and_decides_them()
    {
        var script = _dir.Write("release.csx", Csx);
        var runId = WaitingRuns.IdOf((await CliRunner.RunAsync("run", script, "--store", Store)).Stdout);

        var review = await CliRunner.RunAsync("review", "--store", Store);

        review.ExitCode.Should().Be(0, review.ToString());
        review.Stdout.Split('\n').Should().Contain(line => line.Contains(runId) && line.Contains("deploy") && line.Contains("pending") && line.Contains("1.4.2"));
        (await CliRunner.RunAsync("review", "approve", runId, "--store", Store)).ExitCode.Should().Be(0);
        (await CliRunner.RunAsync("review", "--store", Store)).Stdout.Should().Contain("nothing to review");
        var again = await CliRunner.RunAsync("approve", runId, "--store", Store);
        again.ExitCode.Should().Be(2);
        again.Stderr.Trim().Should().Be($"orchestrator: run {runId} has no pending approval");
    }

    private async Task<RunStatus> StatusAsync(string runId)
    {
        await using var journal = SqliteJournal.Open(Store);
        return (await journal.GetRunAsync(runId, CancellationToken.None))!.Status;
    }
}
