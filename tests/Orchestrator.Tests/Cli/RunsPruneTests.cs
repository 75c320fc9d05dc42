using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;
using static Orchestrator.Tests.Journal.JournalTestData;

namespace Orchestrator.Tests.Cli;

/// <summary><c>orchestrator runs prune</c>.</summary>
public sealed class RunsPruneTests : IDisposable
{
    private static readonly string[] ReportExtensions = [".json", ".md", ".html"];
    private readonly TempDirectory _dir = new();
    private readonly DateTimeOffset _now = TimeProvider.System.GetUtcNow();

    private string Store => Path.Combine(_dir.Path, "store");

    private string Reports => Path.Combine(Store, "reports");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public async Task Prune_older_than_deletes_the_old_runs_their_journal_and_their_reports_and_says_how_many()
    {
        await WriteRunsAsync(("old-1", 40), ("old-2", 31), ("recent", 2));

        var result = await CliRunner.RunAsync("runs", "prune", "--older-than", "30d", "--store", Store);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be(Lines("old-1", "old-2", "pruned 2 runs"));
        ReportsOf("old-1").Concat(ReportsOf("old-2")).Should().OnlyContain(p => !File.Exists(p));
        ReportsOf("recent").Should().OnlyContain(p => File.Exists(p));
        await using var journal = SqliteJournal.Open(Store);
        (await journal.ListRunsAsync(default)).Select(r => r.Id).Should().Equal("recent");
        (await journal.GetEntriesAsync("old-1", default)).Should().BeEmpty();
    }

    [Fact]
    public async Task Prune_keep_keeps_the_newest_runs_and_with_older_than_prunes_only_runs_that_are_both_old_and_not_kept()
    {
        await WriteRunsAsync(("a", 50), ("b", 40), ("c", 30), ("d", 20), ("e", 1));

        var both = await CliRunner.RunAsync("runs", "prune", "--older-than", "600h", "--keep", "4", "--store", Store);

        both.ExitCode.Should().Be(0, both.ToString());
        both.Stdout.Should().Be(Lines("a", "pruned 1 run"), "b is older than 25 days but among the newest 4");

        var keep = await CliRunner.RunAsync("runs", "prune", "--keep", "2", "--store", Store);

        keep.ExitCode.Should().Be(0, keep.ToString());
        keep.Stdout.Should().Be(Lines("b", "c", "pruned 2 runs"));

        var none = await CliRunner.RunAsync("runs", "prune", "--older-than", "90m", "--keep", "1", "--store", Store);
        none.Stdout.Should().Be(Lines("d", "pruned 1 run"));
        var nothing = await CliRunner.RunAsync("runs", "prune", "--older-than", "45s", "--keep", "1", "--store", Store);
        nothing.Stdout.Should().Be(Lines("pruned 0 runs"));
    }

    [Fact]
    public async Task Prune_never_removes_a_run_running_on_a_live_process_but_removes_an_interrupted_one()
    {
        var other = StartLiveProcess();
        try
        {
            await using (var journal = SqliteJournal.Open(Store))
            {
                await journal.StartRunAsync(Run("live", _now.AddDays(-90)) with { Pid = other.Id }, default);
                await journal.StartRunAsync(Run("crashed", _now.AddDays(-80)) with { Pid = ExitedProcessId() }, default);
            }

            var result = await CliRunner.RunAsync("runs", "prune", "--older-than", "1d", "--store", Store);

            result.ExitCode.Should().Be(0, result.ToString());
            result.Stdout.Should().Be(Lines("crashed", "pruned 1 run"));
            var left = await CliRunner.RunAsync("runs", "--store", Store);
            left.Stdout.Should().MatchRegex(@"(?m)^live\s+running\s").And.NotContain("crashed");
        }
        finally
        {
            Stop(other);
        }
    }

    [Theory]
    [InlineData("30")]
    [InlineData("d")]
    [InlineData("30x")]
    [InlineData("-5d")]
    [InlineData("1.5h")]
    [InlineData("thirty days")]
    [InlineData("99999999999999d")]
    public async Task Prune_with_a_bad_older_than_exits_2_and_prunes_nothing(string value)
    {
        await WriteRunsAsync(("old", 40));

        var result = await CliRunner.RunAsync("runs", "prune", "--older-than", value, "--store", Store);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"--older-than '{value}'").And.Contain("30d, 12h, 90m, 45s");
        ReportsOf("old").Should().OnlyContain(p => File.Exists(p));
    }

    [Theory]
    [InlineData(new string[0], "needs --older-than, --keep or both")]
    [InlineData(new[] { "--keep", "-1" }, "--keep must be 0 or more")]
    [InlineData(new[] { "--keep", "many" }, "many")]
    public async Task Prune_without_a_limit_or_with_a_bad_keep_exits_2(string[] options, string message)
    {
        var result = await CliRunner.RunAsync(["runs", "prune", .. options, "--store", Store]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain(message);
    }

    /// <summary>Finished runs started the given number of days ago, each with a step and the three report files.</summary>
    private async Task WriteRunsAsync(params (string Id, int DaysAgo)[] runs)
    {
        Directory.CreateDirectory(Reports);
        await using var journal = SqliteJournal.Open(Store);
        foreach (var (id, daysAgo) in runs)
        {
            var started = _now.AddDays(-daysAgo);
            await journal.StartRunAsync(Run(id, started), default);
            await journal.AppendAsync(Entry(id, 1, "s", StepEvent.Started), default);
            await journal.AppendAsync(Entry(id, 2, "s", StepEvent.Succeeded, JsonValue.Create(1)), default);
            await journal.EndRunAsync(id, RunStatus.Succeeded, null, null, started.AddSeconds(1), default);
            foreach (var report in ReportsOf(id))
            {
                await File.WriteAllTextAsync(report, id);
            }
        }
    }

    private IEnumerable<string> ReportsOf(string id) => ReportExtensions.Select(e => Path.Combine(Reports, id + e));

    private static string Lines(params string[] lines) => string.Concat(lines.Select(l => l + Environment.NewLine));
}
