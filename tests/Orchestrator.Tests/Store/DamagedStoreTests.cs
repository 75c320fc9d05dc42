using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Store;

/// <summary>
/// A copy of a real store, damaged three ways: every command that touches it says so in one line and exits 2 without
/// writing into it; <c>store check</c> names the damage and <c>store salvage</c> rescues the runs that still read.
/// </summary>
public sealed class DamagedStoreTests(RealStoreFixture fixture) : IClassFixture<RealStoreFixture>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public static TheoryData<string> Damages => new() { JournalDamage.Truncated, JournalDamage.MiddlePage, JournalDamage.LastPage };

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task Every_command_on_a_damaged_store_exits_2_with_one_line_and_leaves_the_file_as_it_was(string damage)
    {
        var (store, journal, before) = DamagedCopy(damage);
        string[][] commands =
        [
            ["run", fixture.SmallScript, "--store", store],
            ["resume", fixture.BigRun, "--store", store],
            ["runs", "--store", store],
            ["runs", "show", fixture.SmallRuns[0], "--store", store],
            ["runs", "prune", "--keep", "1", "--store", store],
            ["report", fixture.SmallRuns[0], "--store", store],
            ["stats", "--store", store],
            ["review", "--store", store],
            ["review", "approve", "1", "--store", store],
            ["store", "stats", "--store", store],
        ];

        foreach (var args in commands)
        {
            var result = await CliRunner.RunAsync(args);

            var command = string.Join(' ', args);
            result.ExitCode.Should().Be(2, $"{command}: {result}");
            result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle(command)
                .Which.Should().MatchRegex($"^orchestrator: store '{Regex.Escape(store)}' is damaged: .+; run 'orchestrator store check'$");
            (result.Stdout + result.Stderr).Should().NotContain("Unhandled exception");
            JournalDamage.Hash(journal).Should().Be(before, $"{command} must not write into the damaged journal");
        }
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task Store_check_names_the_damage_and_salvage_copies_the_readable_runs_into_a_store_that_runs_and_report_read(string damage)
    {
        var (store, journal, before) = DamagedCopy(damage);

        var check = await CliRunner.RunAsync("store", "check", "--store", store);

        check.ExitCode.Should().Be(2, check.ToString());
        var lines = Lines(check.Stdout);
        lines[^1].Should().StartWith($"store '{store}' is damaged: ").And.MatchRegex(@"page \d+|malformed");
        var affected = fixture.AllRuns.Where(id => lines.Any(l => l.StartsWith(id + " ", StringComparison.Ordinal))).ToList();
        affected.Should().Contain(fixture.BigRun, "the damage lies in the pages of the last, largest run");
        var readable = fixture.AllRuns.Except(affected).ToList();
        readable.Should().NotBeEmpty("the small runs' pages come first and are whole");

        var salvaged = Path.Combine(_dir.Path, "salvaged");
        var salvage = await CliRunner.RunAsync("store", "salvage", "--store", store, "--out", salvaged);

        salvage.ExitCode.Should().Be(1, "some runs could not be read: " + salvage);
        foreach (var id in affected)
        {
            salvage.Stdout.Should().Contain($"not readable {id}: ");
        }

        var runs = await CliRunner.RunAsync("runs", "--store", salvaged);
        runs.ExitCode.Should().Be(0, runs.ToString());
        Lines(runs.Stdout).Skip(1).Select(l => l.Split(' ')[0]).Should().BeEquivalentTo(readable);
        foreach (var id in readable)
        {
            var shown = await CliRunner.RunAsync("runs", "show", id, "--store", salvaged);
            var original = await CliRunner.RunAsync("runs", "show", id, "--store", fixture.Store);
            shown.Stdout.Should().Be(original.Stdout, "the run's record and every journal row are copied as they were");

            var report = await CliRunner.RunAsync("report", id, "--store", salvaged);
            report.ExitCode.Should().Be(0, report.ToString());
            report.Stdout.Should().Contain(id);
        }

        JournalDamage.Hash(journal).Should().Be(before, "check and salvage only read the damaged journal");
    }

    [Fact]
    public async Task Run_and_resume_as_real_processes_on_a_store_whose_last_page_is_random_exit_2_without_a_stack_trace()
    {
        var (store, journal, before) = DamagedCopy(JournalDamage.LastPage);

        foreach (var args in (string[][])[["run", fixture.SmallScript, "--store", store], ["resume", fixture.BigRun, "--store", store]])
        {
            using var process = OrchestratorProcess.Start(_dir.Path, args);
            var result = await process.WaitForExitAsync();

            result.ExitCode.Should().Be(2, result.ToString());
            result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle()
                .Which.Should().Contain($"store '{store}' is damaged: ");
            (result.Stdout + result.Stderr).Should().NotContain("Unhandled exception");
        }

        JournalDamage.Hash(journal).Should().Be(before);
    }

    [Fact]
    public async Task Damage_the_start_up_check_had_no_reason_to_look_for_is_still_one_line_when_a_command_reads_it()
    {
        var store = Path.Combine(_dir.Path, "edited");
        fixture.CopyTo(store);
        var journal = Path.Combine(store, "journal.db");

        // An edit that keeps the file's length and time looks untouched since its clean close, so no check runs at start-up.
        File.SetLastWriteTimeUtc(journal, File.GetLastWriteTimeUtc(Path.Combine(fixture.Store, "journal.db")));
        var stamp = File.GetLastWriteTimeUtc(journal);
        JournalDamage.Apply(journal, JournalDamage.LastPage);
        File.SetLastWriteTimeUtc(journal, stamp);

        var result = await CliRunner.RunAsync("runs", "show", fixture.BigRun, "--store", store);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle()
            .Which.Should().MatchRegex($"^orchestrator: store '{Regex.Escape(store)}' is damaged: .+malformed; run 'orchestrator store check'$");
    }

    [Fact]
    public async Task Store_check_on_a_healthy_store_exits_0_and_counts_its_runs()
    {
        var store = Path.Combine(_dir.Path, "healthy");
        fixture.CopyTo(store);

        var check = await CliRunner.RunAsync("store", "check", "--store", store);

        check.ExitCode.Should().Be(0, check.ToString());
        check.Stdout.Trim().Should().Be($"store '{store}' is healthy: SQLite's integrity check found nothing and all 4 runs read whole");
    }

    [Fact]
    public async Task Salvage_refuses_a_folder_that_is_not_empty_and_touches_nothing_in_it()
    {
        var target = _dir.Write("taken/notes.txt", "mine");

        var salvage = await CliRunner.RunAsync("store", "salvage", "--store", fixture.Store, "--out", Path.GetDirectoryName(target)!);

        salvage.ExitCode.Should().Be(2, salvage.ToString());
        salvage.Stderr.Should().Contain("is not an empty folder");
        Directory.GetFileSystemEntries(Path.GetDirectoryName(target)!).Should().Equal(target);
    }

    /// <summary>A damaged copy of the real store: its folder, its journal and the journal's hash as damaged.</summary>
    private (string Store, string Journal, string Hash) DamagedCopy(string damage)
    {
        var store = Path.Combine(_dir.Path, "damaged");
        fixture.CopyTo(store);
        var journal = Path.Combine(store, "journal.db");
        JournalDamage.Apply(journal, damage);
        JournalDamage.IntegrityCheck(journal).Should().NotBe("ok", "the damage must be one SQLite itself finds");
        return (store, journal, JournalDamage.Hash(journal));
    }

    private static List<string> Lines(string text) => [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r'))];
}
