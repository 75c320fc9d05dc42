using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Durability;

/// <summary>
/// The journal's hash chain under real processes: it continues across resumes of a run SIGKILLed mid-way, and two
/// processes running parallel branches on one store each keep a chain that verifies.
/// </summary>
public sealed class ChainDurabilityTests : IDisposable
{
    // Shell steps a little slower than a kill takes to land, then parallel branches whose events interleave.
    private const string Workflow = """
        for (var i = 0; i < 12; i++)
        {
            await Agent("shell").RunAsync(new { command = "sh", args = new[] { "-c", $"sleep 0.15; echo {i}" } }, name: $"s{i}");
        }

        var fan = await Parallel("fan", Merge.CollectAll, Enumerable.Range(0, 16).Select(i =>
            Branch($"b{i}", () => Agent("shell").RunAsync(new { command = "echo", args = new[] { $"{i}" } }))).ToArray());
        return await Step("total", () => fan!.AsObject().Count);
        """;

    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_run_SIGKILLed_twice_and_resumed_keeps_one_chain_that_verifies_after_each_kill_and_at_the_end()
    {
        var script = _dir.Write("flow.csx", Workflow);
        var store = Path.Combine(_dir.Path, "store");
        string? runId = null;
        var entries = 0L;
        foreach (var point in (int[])[3, 7])
        {
            using var process = runId is null
                ? OrchestratorProcess.Start(_dir.Path, "run", script, "--store", store, "--json")
                : OrchestratorProcess.Start(_dir.Path, "resume", runId, "--store", store, "--json");
            await process.KillWhenAsync(() => JournalProbe.CountSucceeded(store) >= point, TimeSpan.FromMilliseconds(80), $"{point} finished steps");
            runId ??= JournalProbe.Runs(store).Single().Id;

            // Killed: the run has no final hash yet, and every entry it journaled is in the chain.
            var verified = await VerifyAsync(store, runId);
            verified.Entries.Should().BeGreaterThan(entries, "each process journaled more");
            entries = verified.Entries;
        }

        using (var last = OrchestratorProcess.Start(_dir.Path, "resume", runId!, "--store", store, "--json"))
        {
            var result = await last.WaitForExitAsync();
            result.ExitCode.Should().Be(0, result.ToString());
            JsonNode.Parse(result.LastLine)!["result"]!.GetValue<int>().Should().Be(16);
        }

        var final = await VerifyAsync(store, runId!);
        final.Entries.Should().BeGreaterThan(entries);
        var show = await CliRunner.RunAsync("runs", "show", runId!, "--store", store);
        show.Stdout.Should().Contain($"journal  final hash {final.Hash}", "the run's stored final hash is the chain's last link");
    }

    [Fact]
    public async Task Two_processes_running_parallel_branches_on_one_store_each_keep_a_chain_that_verifies()
    {
        var script = _dir.Write("flow.csx", Workflow.Replace("i < 12", "i < 2", StringComparison.Ordinal));
        var store = Path.Combine(_dir.Path, "store");
        using var first = OrchestratorProcess.Start(_dir.Path, "run", script, "--store", store, "--json");
        using var second = OrchestratorProcess.Start(_dir.Path, "run", script, "--store", store, "--json");
        var results = await Task.WhenAll(first.WaitForExitAsync(), second.WaitForExitAsync());
        results.Should().OnlyContain(r => r.ExitCode == 0, string.Join("\n", results.Select(r => r.ToString())));

        var all = await CliRunner.RunAsync("runs", "verify", "--all", "--store", store);

        all.ExitCode.Should().Be(0, all.ToString());
        all.Stdout.Should().Contain("2 runs verified: all intact");
        foreach (var result in results)
        {
            var id = JsonNode.Parse(result.LastLine)!["runId"]!.GetValue<string>();
            all.Stdout.Should().MatchRegex($"run {id}: \\d+ entries, chain intact");
        }
    }

    private static async Task<(long Entries, string Hash)> VerifyAsync(string store, string runId)
    {
        var result = await CliRunner.RunAsync("runs", "verify", runId, "--store", store);
        result.ExitCode.Should().Be(0, result.ToString());
        var match = Regex.Match(result.Stdout.Trim(), $"^run {runId}: (\\d+) entries, chain intact, final hash ([0-9a-f]{{64}})$");
        match.Success.Should().BeTrue(result.ToString());
        return (long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), match.Groups[2].Value);
    }
}
