using Microsoft.Data.Sqlite;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;
using static Orchestrator.Tests.Journal.JournalTestData;

namespace Orchestrator.Tests.Cli;

/// <summary><c>orchestrator runs</c> and <c>runs show</c> over stores written directly through the journal.</summary>
public sealed class RunsCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string Store => Path.Combine(_dir.Path, "store");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public async Task Runs_shows_a_running_run_whose_process_is_gone_as_interrupted_and_a_live_one_as_running()
    {
        var other = StartLiveProcess();
        try
        {
            await using (var journal = SqliteJournal.Open(Store))
            {
                await journal.StartRunAsync(Run("run-crashed") with { Pid = ExitedProcessId() }, default);
                await journal.StartRunAsync(Run("run-live", T0.AddMinutes(1)) with { Pid = other.Id }, default);
                await journal.StartRunAsync(Run("run-done", T0.AddMinutes(2)) with { Pid = ExitedProcessId() }, default);
                await journal.EndRunAsync("run-done", RunStatus.Succeeded, null, null, T0.AddMinutes(3), default);
            }

            var result = await CliRunner.RunAsync("runs", "--store", Store);

            result.ExitCode.Should().Be(0, result.ToString());
            Row(result, "run-crashed").Should().MatchRegex(@"^run-crashed\s+interrupted\s");
            Row(result, "run-live").Should().MatchRegex(@"^run-live\s+running\s");
            Row(result, "run-done").Should().MatchRegex(@"^run-done\s+succeeded\s");

            var shown = await CliRunner.RunAsync("runs", "show", "run-crashed", "--store", Store);
            shown.ExitCode.Should().Be(0, shown.ToString());
            shown.Stdout.Should().Contain("status   interrupted").And.Contain($"host     {Environment.MachineName} (pid ");
        }
        finally
        {
            Stop(other);
        }
    }

    [Fact]
    public async Task Runs_on_a_format_1_store_says_it_migrated_the_journal_and_lists_the_old_runs()
    {
        CopyFormatOneFixture(Store);

        var result = await CliRunner.RunAsync("runs", "--store", Store);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stderr.Should().Contain("migrated the journal from format 1 to 8").And.Contain(Path.Combine(Store, "journal.db"));
        Row(result, "20261120-090000-aaaaaa").Should().MatchRegex(@"\ssucceeded\s.*\s60 ms\s");
        Row(result, "20261120-100000-bbbbbb").Should().MatchRegex(@"\sfailed\s");
        Row(result, "20261120-110000-cccccc").Should().MatchRegex(@"\sinterrupted\s", "format 1 recorded no process, so nothing can be running it");

        var again = await CliRunner.RunAsync("runs", "--store", Store);
        again.Stderr.Should().NotContain("migrated");
    }

    [Theory]
    [InlineData("not a database at all, just some text that is long enough to fill a header page. 0123456789", "not a journal: the file is not a SQLite database")]
    [InlineData(null, "journal format 0 is not a format this engine knows")]
    public async Task Runs_on_a_store_whose_journal_cannot_be_read_exits_2_naming_the_file(string? content, string message)
    {
        var path = Path.Combine(Store, "journal.db");
        if (content is not null)
        {
            Directory.CreateDirectory(Store);
            await File.WriteAllTextAsync(path, content);
        }
        else
        {
            await using (SqliteJournal.Open(Store))
            {
            }

            await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE meta SET value = '0' WHERE key = 'format_version'";
            await command.ExecuteNonQueryAsync();
        }

        var result = await CliRunner.RunAsync("runs", "--store", Store);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{path}: {message}");
    }

    private static string Row(CliResult result, string id) =>
        result.Stdout.Split('\n').Select(l => l.TrimEnd('\r')).Should().ContainSingle(l => l.StartsWith(id + " ", StringComparison.Ordinal), result.ToString()).Subject;
}
