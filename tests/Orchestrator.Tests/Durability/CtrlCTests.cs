using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Durability;

/// <summary>Ctrl+C (SIGINT) to a real <c>orchestrator</c> process: a clean cancel, no orphaned child, and a resume that finishes the run.</summary>
public sealed class CtrlCTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private string Store => Path.Combine(_dir.Path, "store");

    [Fact]
    public async Task Ctrl_C_cancels_the_run_kills_the_blocked_child_and_resume_finishes_without_rerunning_finished_steps()
    {
        var workflow = BlockingWorkflow.Write(_dir);
        using var process = OrchestratorProcess.Start(_dir.Path, "run", workflow.Script, "--store", Store, "--json");
        await process.WaitUntilAsync(
            () => JournalProbe.HasEvent(Store, "block", "Started") && workflow.SleepPid() is not null,
            "the blocking step to start its sleep");
        var sleepPid = workflow.SleepPid()!.Value;
        ProcessProbe.IsAlive(sleepPid).Should().BeTrue("the step's child process is running when Ctrl+C comes");

        process.Interrupt();
        var cancelled = await process.WaitForExitAsync();

        cancelled.ExitCode.Should().Be(1, cancelled.ToString());
        cancelled.Stderr.Should().Contain("cancelled");
        var line = JsonNode.Parse(cancelled.LastLine)!;
        line["status"]!.GetValue<string>().Should().Be("cancelled");
        var runId = line["runId"]!.GetValue<string>();

        var run = JournalProbe.Runs(Store).Should().ContainSingle().Subject;
        run.Id.Should().Be(runId);
        run.Status.Should().Be("Cancelled");
        var events = JournalProbe.Events(Store, runId);
        events.Should().ContainSingle(e => e.StepId == "block" && e.Event == "Failed")
            .Which.Error.Should().Be("cancelled");
        events.Should().ContainSingle(e => e.StepId == "first" && e.Event == "Succeeded");

        // The shell agent kills the step's process tree on cancellation: no sleep outlives the run.
        await ProcessProbe.WaitUntilGoneAsync(sleepPid);

        var listed = await CliRunner.RunAsync("runs", "--store", Store);
        listed.Stdout.Split('\n').Should().Contain(l => l.StartsWith(runId, StringComparison.Ordinal))
            .Which.Should().MatchRegex($@"^{runId}\s+cancelled\s");

        // The script must not change (resume would refuse it): the flag file makes the blocking step fast.
        workflow.MakeFast();
        using var resume = OrchestratorProcess.Start(_dir.Path, "resume", runId, "--store", Store, "--json");
        var resumed = await resume.WaitForExitAsync();

        resumed.ExitCode.Should().Be(0, resumed.ToString());
        var outcome = JsonNode.Parse(resumed.LastLine)!;
        outcome["status"]!.GetValue<string>().Should().Be("succeeded");
        outcome["result"]!.ToJsonString().Should().Be("""{"first":"first","block":"fast"}""");
        JournalProbe.Runs(Store).Should().ContainSingle().Which.Status.Should().Be("Succeeded");

        var journal = JournalProbe.Events(Store, runId);
        journal.Where(e => e.StepId == "first").Select(e => e.Event).Should().Equal(["Started", "Succeeded"], "the finished step is replayed, not run again");
        journal.Where(e => e.StepId == "block").Select(e => (e.Event, e.Attempt)).Should().Equal(
            [("Started", 1), ("Failed", 1), ("Started", 2), ("Succeeded", 2)], "the cancelled step runs again, as its second attempt");
    }

    [Fact]
    public async Task Ctrl_C_ends_the_run_as_cancelled_even_when_script_code_ignores_the_cancellation()
    {
        var marker = Path.Combine(_dir.Path, "spinning");
        var script = _dir.Write("stubborn.csx", $$"""
            await Step("a", () => 1);
            await Step("spin", async () => { File.WriteAllText(@"{{marker}}", ""); await Task.Delay(Timeout.Infinite); return 2; });
            return 3;
            """);
        using var process = OrchestratorProcess.Start(_dir.Path, "run", script, "--store", Store, "--json");
        await process.WaitUntilAsync(() => File.Exists(marker), "the stubborn step to start");

        process.Interrupt();
        var cancelled = await process.WaitForExitAsync();

        cancelled.ExitCode.Should().Be(1, cancelled.ToString());
        JsonNode.Parse(cancelled.LastLine)!["status"]!.GetValue<string>().Should().Be("cancelled");
        JournalProbe.Runs(Store).Should().ContainSingle().Which.Status.Should().Be("Cancelled");
    }
}

/// <summary>
/// A workflow whose second step blocks in <c>sleep 60</c> (writing the sleep's pid to a file first) until a flag
/// file exists; then it is fast. The script text never changes, so a resume accepts it.
/// </summary>
internal sealed class BlockingWorkflow
{
    private BlockingWorkflow(string script, string pidFile, string flagFile)
    {
        Script = script;
        PidFile = pidFile;
        FlagFile = flagFile;
    }

    public string Script { get; }

    public string PidFile { get; }

    public string FlagFile { get; }

    public static BlockingWorkflow Write(TempDirectory dir, string name = "blocking.csx")
    {
        var pidFile = Path.Combine(dir.Path, "sleep.pid");
        var flagFile = Path.Combine(dir.Path, "fast.flag");

        // `exec` makes the sleep the very process whose pid ($$) was written.
        var shell = $"if [ -f '{flagFile}' ]; then echo fast; else echo $$ > '{pidFile}.tmp' && mv '{pidFile}.tmp' '{pidFile}' && exec sleep 60; fi";
        var script = dir.Write(name, $$""""
            var first = await Agent("shell").RunAsync(new { command = "echo", args = new[] { "first" } }, name: "first");
            var block = await Agent("shell").RunAsync(new { script = """{{shell}}""" }, name: "block");
            return new { first = first!["stdout"]!.GetValue<string>().Trim(), block = block!["stdout"]!.GetValue<string>().Trim() };
            """");
        return new BlockingWorkflow(script, pidFile, flagFile);
    }

    /// <summary>The blocking step's sleep process, once it has written its pid.</summary>
    public int? SleepPid() =>
        File.Exists(PidFile) && int.TryParse(File.ReadAllText(PidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;

    public void MakeFast() => File.WriteAllText(FlagFile, "");
}

/// <summary>Whether a process is alive, from <c>/proc</c>.</summary>
internal static class ProcessProbe
{
    /// <summary>True if <paramref name="pid"/> exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }

        var close = stat.LastIndexOf(')');
        var state = close >= 0 && close + 2 < stat.Length ? stat[close + 2] : 'R';
        return state is not ('Z' or 'X' or 'x');
    }

    /// <summary>Waits (bounded) for the process to be gone; fails naming it if it stays.</summary>
    public static async Task WaitUntilGoneAsync(int pid, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (IsAlive(pid))
        {
            if (clock.Elapsed > limit)
            {
                var cmdline = File.Exists($"/proc/{pid}/cmdline") ? File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ') : "?";
                throw new TimeoutException($"process {pid} ({cmdline}) is still alive after {limit}: the step's child was not killed");
            }

            await Task.Delay(20);
        }
    }
}
