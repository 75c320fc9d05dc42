using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Durability;

/// <summary>What <c>orchestrator resume</c> refuses, with exit code 2 and a message that says why and what to do.</summary>
public sealed class ResumeRefusalTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private string Store => Path.Combine(_dir.Path, "store");

    [Fact]
    public async Task Resume_of_a_run_id_that_does_not_exist_exits_2_naming_it()
    {
        var result = await CliRunner.RunAsync("resume", "20261128-000000-abcdef", "--store", Store);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("no run with id '20261128-000000-abcdef'");
        Directory.Exists(Store).Should().BeFalse("a resume never creates a store");
    }

    [Fact]
    public async Task Resume_of_a_run_that_succeeded_exits_2_and_leaves_it_alone()
    {
        var script = _dir.Write("done.csx", "return await Agent(\"shell\").RunAsync(new { command = \"echo\", args = new[] { \"done\" } }, name: \"only\");");
        var run = await CliRunner.RunAsync("run", script, "--store", Store, "--json");
        run.ExitCode.Should().Be(0, run.ToString());
        var runId = JsonNode.Parse(run.LastLine)!["runId"]!.GetValue<string>();

        var result = await CliRunner.RunAsync("resume", runId, "--store", Store);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"run {runId} already succeeded");
        JournalProbe.Runs(Store).Should().ContainSingle().Which.Status.Should().Be("Succeeded");
        JournalProbe.Events(Store, runId).Should().HaveCount(2, "nothing ran again");
    }

    [Fact]
    public async Task Resume_of_a_run_still_running_in_a_live_process_exits_2_and_after_SIGKILL_a_resume_of_an_edited_script_needs_force()
    {
        var workflow = BlockingWorkflow.Write(_dir);
        using var process = OrchestratorProcess.Start(_dir.Path, "run", workflow.Script, "--store", Store, "--json");
        await process.WaitUntilAsync(() => workflow.SleepPid() is not null && JournalProbe.HasEvent(Store, "block", "Started"), "the blocking step to start");
        var runId = JournalProbe.Runs(Store).Should().ContainSingle().Subject.Id;

        // While its process lives, the run is not resumable: two processes must never run one run.
        var live = await CliRunner.RunAsync("resume", runId, "--store", Store);
        live.ExitCode.Should().Be(2, live.ToString());
        live.Stderr.Should().Contain($"run {runId} is still running in process {process.Id}");

        await process.KillAsync();
        JournalProbe.Runs(Store).Should().ContainSingle().Which.Status.Should().Be("Running", "SIGKILL left the run as it was");

        // An edited script could replay journaled results into the wrong steps: refused unless forced.
        File.AppendAllText(workflow.Script, "\n// edited after the run started\n");
        workflow.MakeFast();
        var refused = await CliRunner.RunAsync("resume", runId, "--store", Store);

        refused.ExitCode.Should().Be(2, refused.ToString());
        refused.Stderr.Should().Contain($"changed since run {runId} started").And.Contain("--force");
        JournalProbe.Events(Store, runId).Should().NotContain(e => e.Attempt > 1, "a refused resume runs nothing");

        var forced = await CliRunner.RunAsync("resume", runId, "--force", "--store", Store, "--json");

        forced.ExitCode.Should().Be(0, forced.ToString());
        var outcome = JsonNode.Parse(forced.LastLine)!;
        outcome["status"]!.GetValue<string>().Should().Be("succeeded");
        outcome["result"]!.ToJsonString().Should().Be("""{"first":"first","block":"fast"}""");
        var journal = JournalProbe.Events(Store, runId);
        journal.Where(e => e.StepId == "first" && e.Event == "Started").Should().ContainSingle("the finished step is replayed even under --force");
        journal.Where(e => e.StepId == "block").Select(e => (e.Event, e.Attempt)).Should().Equal(
            [("Started", 1), ("Started", 2), ("Succeeded", 2)], "the step cut off by SIGKILL runs again as its second attempt");
    }

    [Fact]
    public async Task Resume_of_an_edited_script_after_Ctrl_C_exits_2_until_forced()
    {
        var workflow = BlockingWorkflow.Write(_dir);
        using var process = OrchestratorProcess.Start(_dir.Path, "run", workflow.Script, "--store", Store, "--json");
        await process.WaitUntilAsync(() => workflow.SleepPid() is not null && JournalProbe.HasEvent(Store, "block", "Started"), "the blocking step to start");
        process.Interrupt();
        var cancelled = await process.WaitForExitAsync();
        cancelled.ExitCode.Should().Be(1, cancelled.ToString());
        var runId = JsonNode.Parse(cancelled.LastLine)!["runId"]!.GetValue<string>();

        File.WriteAllText(workflow.Script, File.ReadAllText(workflow.Script).Replace("name: \"first\"", "name: \"first\" /* edited */", StringComparison.Ordinal));
        workflow.MakeFast();
        var refused = await CliRunner.RunAsync("resume", runId, "--store", Store);

        refused.ExitCode.Should().Be(2, refused.ToString());
        refused.Stderr.Should().Contain("changed since run").And.Contain("Use --force");
        JournalProbe.Runs(Store).Should().ContainSingle().Which.Status.Should().Be("Cancelled", "a refused resume leaves the run as it was");

        var forced = await CliRunner.RunAsync("resume", runId, "--force", "--store", Store, "--json");

        forced.ExitCode.Should().Be(0, forced.ToString());
        JsonNode.Parse(forced.LastLine)!["status"]!.GetValue<string>().Should().Be("succeeded");
        JournalProbe.Runs(Store).Should().ContainSingle().Which.Status.Should().Be("Succeeded");
    }
}
