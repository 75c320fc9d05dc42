using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Host;

/// <summary>
/// The native launcher the tool installs as <c>orchestrator</c>: it relays a plain run to a live host (see
/// <see cref="RemoteRunTests"/>) and becomes the managed CLI, in its own process, for everything else.
/// </summary>
public sealed class LauncherTests
{
    [Fact]
    public async Task Without_a_live_host_the_launcher_becomes_the_cli_in_the_same_process()
    {
        using var dir = new TempDirectory();
        var script = dir.Write("adds.csx", """return await Step("a", () => 1 + 2);""");
        var store = Path.Combine(dir.Path, "store");

        using var launcher = OrchestratorProcess.StartLauncher(dir.Path, "run", script, "--store", store, "--json");
        var result = await launcher.WaitForExitAsync();

        result.ExitCode.Should().Be(0, result.ToString());
        result.LastLine.Should().Contain("\"result\":3");
        await using var journal = SqliteJournal.Open(store);
        var run = (await journal.ListRunsAsync(CancellationToken.None)).Should().ContainSingle().Subject;
        run.Pid.Should().Be(launcher.Id, "the launcher became the CLI (exec): the run was driven by the launcher's own process");
    }

    [Fact]
    public async Task Other_verbs_and_options_the_launcher_does_not_know_go_to_the_cli_even_with_a_live_host()
    {
        await using var host = await HostHarness.StartAsync();
        var script = host.WriteScript("one.csx", """return await Step("a", () => 1);""");

        var version = await RunAsync(host.ScriptsDirectory, "--version");
        var typo = await RunAsync(host.ScriptsDirectory, "rnu", script);
        using var verbose = OrchestratorProcess.StartLauncher(host.ScriptsDirectory, "run", script, "--store", host.StoreDirectory, "--verbose", "--quiet");
        var verboseResult = await verbose.WaitForExitAsync();

        version.ExitCode.Should().Be(0, version.ToString());
        version.Stdout.Should().MatchRegex(@"^\d+\.\d+\.\d+");
        typo.ExitCode.Should().Be(2, typo.ToString());
        typo.Stderr.Should().Contain("did you mean 'run'?");
        verboseResult.ExitCode.Should().Be(0, verboseResult.ToString());
        await using var journal = SqliteJournal.Open(host.StoreDirectory);
        var run = (await journal.ListRunsAsync(CancellationToken.None)).Should().ContainSingle().Subject;
        run.Pid.Should().Be(verbose.Id, "--verbose needs this process's log, so the CLI ran it in-process");
    }

    [Fact]
    public async Task Input_the_host_cannot_parse_is_refused_in_one_line_as_in_process()
    {
        await using var host = await HostHarness.StartAsync();
        var script = host.WriteScript("echo.csx", """return Input;""");

        var remote = await RunAsync(host.ScriptsDirectory, "run", script, "--store", host.StoreDirectory, "--input", "{not json");
        var local = await RunAsync(host.ScriptsDirectory, "run", script, "--store", host.StoreDirectory, "--input", "{not json", "--no-host");
        var good = await RunAsync(host.ScriptsDirectory, "run", script, "--store", host.StoreDirectory, "--input", """{"n":7}""", "--quiet");

        remote.ExitCode.Should().Be(2, remote.ToString());
        remote.Stderr.Should().Be(local.Stderr).And.StartWith("orchestrator: --input: invalid JSON");
        good.ExitCode.Should().Be(0, good.ToString());
        good.Stdout.Should().Contain("\"n\": 7");
        await using var journal = SqliteJournal.Open(host.StoreDirectory);
        (await journal.ListRunsAsync(CancellationToken.None)).Should().ContainSingle()
            .Which.Pid.Should().Be(Environment.ProcessId, "the host ran the one run with good input");
    }

    private static async Task<CliResult> RunAsync(string workingDirectory, params string[] args)
    {
        using var process = OrchestratorProcess.StartLauncher(workingDirectory, args);
        return await process.WaitForExitAsync();
    }
}
