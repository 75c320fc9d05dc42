using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Host;

/// <summary><c>orchestrator run</c> and <c>resume</c> (real processes) against a warm host serving the same store.</summary>
public sealed partial class RemoteRunTests
{
    /// <summary>What starts <c>orchestrator</c>: the managed CLI (<c>dotnet orchestrator.dll</c>), or the native launcher the tool installs.</summary>
    public enum Client
    {
        Cli,
        NativeLauncher,
    }

    [Theory]
    [InlineData(Client.Cli)]
    [InlineData(Client.NativeLauncher)]
    public async Task Run_through_a_host_prints_what_an_in_process_run_prints_and_the_host_runs_it(Client client)
    {
        await using var host = await HostHarness.StartAsync();
        var script = host.WriteScript("adds.csx", """
            var a = await Step("a", () => 1);
            return await Step("b", () => a!.GetValue<int>() + 2);
            """);

        var remote = await RunAsync(host, client, "run", script);
        var local = await RunAsync(host, Client.Cli, "run", script, "--no-host");

        remote.ExitCode.Should().Be(0, remote.ToString());
        Normalize(remote.Stdout).Should().Be(Normalize(local.Stdout));
        remote.Stdout.Should().Contain("result: 3");
        remote.Stderr.Should().BeEmpty();
        (await PidOfAsync(host, remote)).Should().Be(Environment.ProcessId, "the host ran it");
        (await PidOfAsync(host, local)).Should().NotBe(Environment.ProcessId, "--no-host runs in the CLI's own process");

        var json = await RunAsync(host, client, "run", script, "--json");
        JsonNode.Parse(json.LastLine)!["result"]!.GetValue<int>().Should().Be(3);
    }

    [Theory]
    [InlineData(Client.Cli)]
    [InlineData(Client.NativeLauncher)]
    public async Task A_failing_run_and_a_script_that_does_not_compile_exit_as_they_do_in_process(Client client)
    {
        await using var host = await HostHarness.StartAsync();
        var failing = host.WriteScript("fails.csx", """return await Step("boom", () => int.Parse("no"));""");
        var broken = host.WriteScript("broken.csx", "var x = ;");

        var remoteFail = await RunAsync(host, client, "run", failing);
        var localFail = await RunAsync(host, Client.Cli, "run", failing, "--no-host");
        remoteFail.ExitCode.Should().Be(1, remoteFail.ToString());
        Normalize(remoteFail.Stderr).Should().Be(Normalize(localFail.Stderr));
        Normalize(remoteFail.Stdout).Should().Be(Normalize(localFail.Stdout));
        (await PidOfAsync(host, remoteFail)).Should().Be(Environment.ProcessId);

        var remoteBroken = await RunAsync(host, client, "run", broken);
        var localBroken = await RunAsync(host, Client.Cli, "run", broken, "--no-host");
        remoteBroken.ExitCode.Should().Be(2, remoteBroken.ToString());
        remoteBroken.Stderr.Should().Be(localBroken.Stderr).And.Contain("broken.csx(1,9): error CS1525");
    }

    [Theory]
    [InlineData(Client.Cli)]
    [InlineData(Client.NativeLauncher)]
    public async Task Ctrl_c_cancels_the_run_on_the_host_and_resume_through_the_host_finishes_it(Client client)
    {
        await using var host = await HostHarness.StartAsync();
        var flag = Path.Combine(host.ScriptsDirectory, "go.flag");
        var script = host.WriteScript("waits.csx", $$"""
            await Step("before", () => 1);
            await Step("wait", async () => { while (!File.Exists(@"{{flag}}")) await Task.Delay(20, CancellationToken); return 2; });
            return await Step("after", () => 3);
            """);

        using var cli = Start(client, host.ScriptsDirectory, "run", script, "--store", host.StoreDirectory);
        string? runId = null;
        await cli.WaitUntilAsync(() => host.Server.State.Runs.InFlight.FirstOrDefault() is { } run && (runId = run.Id) is not null, "the run on the host");
        await host.EventsUntilAsync(runId!, "wait");
        cli.Interrupt();
        var interrupted = await cli.WaitForExitAsync();

        interrupted.ExitCode.Should().Be(1, interrupted.ToString());
        interrupted.Stderr.Should().Contain($"orchestrator: run {runId} cancelled: the run was cancelled");
        interrupted.Stdout.Should().Contain($"resume with: orchestrator resume {runId}");
        (await host.GetJsonAsync($"/api/runs/{runId}"))["status"]!.GetValue<string>().Should().Be("cancelled");

        File.WriteAllText(flag, "go");
        var resumed = await RunAsync(host, client, "resume", runId!);
        resumed.ExitCode.Should().Be(0, resumed.ToString());
        resumed.Stdout.Should().Contain($"run {runId} succeeded: 3 steps").And.Contain("result: 3");
        (await PidOfAsync(host, resumed, runId)).Should().Be(Environment.ProcessId);
    }

    private static async Task<CliResult> RunAsync(HostHarness host, Client client, params string[] args)
    {
        using var process = Start(client, host.ScriptsDirectory, [.. args, "--store", host.StoreDirectory]);
        return await process.WaitForExitAsync();
    }

    private static OrchestratorProcess Start(Client client, string workingDirectory, params string[] args) =>
        client == Client.Cli ? OrchestratorProcess.Start(workingDirectory, args) : OrchestratorProcess.StartLauncher(workingDirectory, args);

    /// <summary>The process that ran the run the output names.</summary>
    private static async Task<int?> PidOfAsync(HostHarness host, CliResult result, string? runId = null)
    {
        runId ??= RunId().Match(result.Stdout + result.Stderr).Groups[1].Value;
        await using var journal = SqliteJournal.Open(host.StoreDirectory);
        return (await journal.GetRunAsync(runId, CancellationToken.None))!.Pid;
    }

    /// <summary>The output with what differs from run to run (ids, times, report paths) left out.</summary>
    private static string Normalize(string text) => Millis().Replace(AnyRunId().Replace(text, "ID"), "N ms");

    [GeneratedRegex(@"run (\d{8}-\d{6}-[0-9a-f]{6})")]
    private static partial Regex RunId();

    [GeneratedRegex(@"\d{8}-\d{6}-[0-9a-f]{6}")]
    private static partial Regex AnyRunId();

    [GeneratedRegex(@"\d+ ms")]
    private static partial Regex Millis();
}
