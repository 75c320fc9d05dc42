using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Store;

/// <summary>
/// A store made by real runs of the CLI, once per test class, for <c>runs verify</c>: a run with a small output, a large
/// value stored once and shared by a step and its parent, and parallel branches; and a second run beside it.
/// </summary>
public sealed class ChainStoreFixture : IAsyncLifetime
{
    public const string Script = """
        var small = await Step("small", () => new { n = 1, word = "hello" });
        var big = await Step("big", () => new string('x', 20000));
        var wrap = await Step("wrap", () => Step("inner", () => new string('y', 9000)));
        var fan = await Parallel("fan", Merge.CollectAll, Enumerable.Range(0, 6).Select(i => Branch($"b{i}", () => Step($"w{i}", () => i * i))).ToArray());
        return await Step("total", () => new { n = small!["n"]!.GetValue<int>(), len = big!.GetValue<string>().Length });
        """;

    private readonly TempDirectory _dir = new();

    public string Store => Path.Combine(_dir.Path, "store");

    public string ScriptPath => Path.Combine(_dir.Path, "chain.csx");

    public string Run { get; private set; } = "";

    public string Other { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _dir.Write("chain.csx", Script);
        Run = await RunAsync();
        Other = await RunAsync();
    }

    /// <summary>A copy of the store (journal, clean-close record, reports) in <paramref name="target"/>; returns its journal's path.</summary>
    public string CopyTo(string target)
    {
        foreach (var file in Directory.EnumerateFiles(Store, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(target, Path.GetRelativePath(Store, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }

        return Path.Combine(target, "journal.db");
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
        return Task.CompletedTask;
    }

    private async Task<string> RunAsync()
    {
        var result = await CliRunner.RunAsync("run", ScriptPath, "--store", Store, "--json");
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException("the fixture's run failed: " + result);
        }

        return JsonNode.Parse(result.LastLine)!["runId"]!.GetValue<string>();
    }
}

/// <summary>
/// <c>runs verify</c> on copies of a real store: intact runs verify clean, and an edited output (inline or stored once
/// by hash), a deleted entry, two swapped entries and a cut-off tail are each named at the first entry that does not match.
/// </summary>
public sealed class RunsVerifyTests(ChainStoreFixture fixture) : IClassFixture<ChainStoreFixture>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public async Task Intact_runs_verify_clean_with_the_final_hash_that_runs_show_and_the_report_carry()
    {
        var result = await CliRunner.RunAsync("runs", "verify", "--all", "--store", fixture.Store);

        result.ExitCode.Should().Be(0, result.ToString());
        var lines = Lines(result.Stdout);
        lines.Should().HaveCount(3);
        var match = Regex.Match(lines[0], $"^run {fixture.Run}: (\\d+) entries, chain intact, final hash ([0-9a-f]{{64}})$");
        match.Success.Should().BeTrue(lines[0]);
        long.Parse(match.Groups[1].Value).Should().Be(Count(Path.Combine(fixture.Store, "journal.db"), fixture.Run));
        lines[1].Should().MatchRegex($"^run {fixture.Other}: \\d+ entries, chain intact, final hash [0-9a-f]{{64}}$");
        lines[2].Should().Be("2 runs verified: all intact");

        var hash = match.Groups[2].Value;
        var show = await CliRunner.RunAsync("runs", "show", fixture.Run, "--store", fixture.Store);
        show.Stdout.Should().Contain($"journal  final hash {hash}");
        File.ReadAllText(Path.Combine(fixture.Store, "reports", fixture.Run + ".md")).Should().Contain($"journal final hash {hash}");
        var one = await CliRunner.RunAsync("runs", "verify", fixture.Run, "--store", fixture.Store);
        one.ExitCode.Should().Be(0);
        Lines(one.Stdout).Should().Equal(lines[0]);
    }

    [Fact]
    public async Task An_edited_small_output_is_named_at_its_entry()
    {
        var journal = Copy(out var store);
        var seq = Seq(journal, "small", "Succeeded");
        Execute(journal, $"UPDATE journal SET payload = '{{\"n\":2,\"word\":\"hello\"}}' WHERE run_id = '{fixture.Run}' AND seq = {seq}");

        await AssertBrokenAsync(store, seq, "small", "it was changed: it does not hash to its link in the chain");
    }

    [Fact]
    public async Task An_edited_large_value_stored_once_is_named_at_the_first_entry_that_refers_to_it()
    {
        var journal = Copy(out var store);
        var seq = Seq(journal, "wrap/inner", "Succeeded");
        var hash = (string)Scalar(journal, $"SELECT substr(payload, 13, 64) FROM journal WHERE run_id = '{fixture.Run}' AND seq = {seq}")!;
        Execute(journal, $"UPDATE payload_values SET json = replace(json, 'yyyy', 'yyyz') WHERE hash = '{hash}'");

        await AssertBrokenAsync(store, seq, "wrap/inner", $"the stored value it refers to ({hash}) was changed: it no longer hashes to its key", otherIntact: false);
    }

    [Fact]
    public async Task A_deleted_entry_is_named_at_the_entry_after_it()
    {
        var journal = Copy(out var store);
        var seq = Seq(journal, "big", "Started");
        Execute(journal, $"DELETE FROM journal WHERE run_id = '{fixture.Run}' AND seq = {seq}");

        await AssertBrokenAsync(store, seq + 1, "big", $"the entry before it (seq {seq}) is missing");
    }

    [Fact]
    public async Task Two_swapped_entries_are_named_at_the_first_of_them()
    {
        var journal = Copy(out var store);
        var first = Seq(journal, "small", "Succeeded");
        var second = first + 1;
        var other = StepAt(journal, second);
        Swap(journal, first, second);

        await AssertBrokenAsync(store, first, other, $"it was swapped with the entry at seq {second} (step small)");
    }

    [Fact]
    public async Task Two_swapped_entries_far_apart_are_named_at_the_first_of_them()
    {
        var journal = Copy(out var store);
        var first = Seq(journal, "small", "Succeeded");
        var second = Seq(journal, "total", "Started");
        var other = StepAt(journal, second);
        Swap(journal, first, second);

        await AssertBrokenAsync(store, first, other, "it was changed: it does not hash to its link in the chain");
    }

    [Fact]
    public async Task Entries_cut_off_at_the_end_are_found_by_the_run_s_final_hash()
    {
        var journal = Copy(out var store);
        var last = (long)Scalar(journal, $"SELECT max(seq) FROM journal WHERE run_id = '{fixture.Run}'")!;
        Execute(journal, $"DELETE FROM journal WHERE run_id = '{fixture.Run}' AND seq >= {last - 1}");

        var result = await CliRunner.RunAsync("runs", "verify", "--all", "--store", store);

        result.ExitCode.Should().Be(1, result.ToString());
        var lines = Lines(result.Stdout);
        lines[0].Should().StartWith($"run {fixture.Run}: entry seq {last - 2} (step ").And.Contain("is not the chain's last link");
        lines[1].Should().MatchRegex($"^run {fixture.Other}: .*chain intact");
        lines[2].Should().Be("2 runs verified: 1 altered");
    }

    [Fact]
    public async Task Verify_never_writes_the_store_and_bad_input_is_one_line_with_exit_code_2()
    {
        var journal = Copy(out var store);
        var before = JournalDamage.Hash(journal);
        var missing = Path.Combine(_dir.Path, "none", "deep");
        string[][] bad =
        [
            ["runs", "verify", "nope", "--store", store],
            ["runs", "verify", "--store", store],
            ["runs", "verify", fixture.Run, "--all", "--store", store],
            ["runs", "verify", "--all", "--store", missing],
        ];

        foreach (var args in bad)
        {
            var result = await CliRunner.RunAsync(args);

            var command = string.Join(' ', args);
            result.ExitCode.Should().Be(2, $"{command}: {result}");
            result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle(command).Which.Should().StartWith("orchestrator: ");
        }

        (await CliRunner.RunAsync("runs", "verify", "--all", "--store", store)).ExitCode.Should().Be(0);
        Directory.Exists(missing).Should().BeFalse("verify never creates a store");
        JournalDamage.Hash(journal).Should().Be(before, "verify never writes into the store it checks");
    }

    private async Task AssertBrokenAsync(string store, long seq, string stepId, string reason, bool otherIntact = true)
    {
        var result = await CliRunner.RunAsync("runs", "verify", fixture.Run, "--store", store);

        result.ExitCode.Should().Be(1, result.ToString());
        Lines(result.Stdout).Should().Equal($"run {fixture.Run}: entry seq {seq} (step {stepId}) does not match: {reason}");
        // The runs share the large values their identical steps returned: a changed one shows in both.
        (await CliRunner.RunAsync("runs", "verify", fixture.Other, "--store", store)).ExitCode.Should().Be(otherIntact ? 0 : 1);
    }

    private string Copy(out string store)
    {
        store = Path.Combine(_dir.Path, "copy");
        return fixture.CopyTo(store);
    }

    private long Seq(string journal, string stepId, string eventName) =>
        (long)Scalar(journal, $"SELECT seq FROM journal WHERE run_id = '{fixture.Run}' AND step_id = '{stepId}' AND event = '{eventName}'")!;

    private string StepAt(string journal, long seq) =>
        (string)Scalar(journal, $"SELECT step_id FROM journal WHERE run_id = '{fixture.Run}' AND seq = {seq}")!;

    /// <summary>Two rows trade their places in the run's order (their seq), each keeping its content and chain hash.</summary>
    private void Swap(string journal, long first, long second) => Execute(journal, $"""
        UPDATE journal SET seq = -seq WHERE run_id = '{fixture.Run}' AND seq IN ({first}, {second});
        UPDATE journal SET seq = CASE seq WHEN -{first} THEN {second} ELSE {first} END WHERE run_id = '{fixture.Run}' AND seq IN (-{first}, -{second});
        """);

    private static long Count(string journal, string runId) => (long)Scalar(journal, $"SELECT COUNT(*) FROM journal WHERE run_id = '{runId}'")!;

    private static object? Scalar(string journal, string sql) => SqlFile.Scalar(journal, sql);

    private static void Execute(string journal, string sql) => SqlFile.Execute(journal, sql).Should().BeGreaterThan(0, sql);

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
