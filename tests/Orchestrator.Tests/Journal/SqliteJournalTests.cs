using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Journal;

public sealed class SqliteJournalTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_run_and_its_steps_survive_closing_and_reopening_the_store()
    {
        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            await journal.StartRunAsync(Run("r1"), default);
            await journal.AppendAsync(Entry("r1", 1, "build", StepEvent.Started, JsonNode.Parse("""{"cmd":"make"}""")), default);
            await journal.AppendAsync(Entry("r1", 2, "build", StepEvent.Succeeded, JsonNode.Parse("""{"exitCode":0}""")), default);
            await journal.EndRunAsync("r1", RunStatus.Succeeded, JsonValue.Create(42), null, T0.AddSeconds(3), default);
        }

        await using var reopened = SqliteJournal.Open(_dir.Path);
        var run = await reopened.GetRunAsync("r1", default);
        run!.Status.Should().Be(RunStatus.Succeeded);
        run.Result!.GetValue<int>().Should().Be(42);
        run.DurationMs.Should().Be(3000);
        var step = StepFolding.Fold(await reopened.GetEntriesAsync("r1", default)).Should().ContainSingle().Subject;
        step.Status.Should().Be(RunStatus.Succeeded);
        step.Input!.ToJsonString().Should().Be("""{"cmd":"make"}""");
        step.Output!.ToJsonString().Should().Be("""{"exitCode":0}""");
    }

    [Fact]
    public async Task Concurrent_appends_are_all_durable_when_their_tasks_complete()
    {
        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            await journal.StartRunAsync(Run("r2"), default);
            var appends = Enumerable.Range(1, 2000)
                .Select(i => Task.Run(async () => await journal.AppendAsync(Entry("r2", i, "s" + i, StepEvent.Succeeded, JsonValue.Create(i)), default)));
            await Task.WhenAll(appends);

            // Read through a separate connection before closing: completed appends are committed, not just queued.
            await using var reader = new SqliteConnection($"Data Source={journal.DatabasePath}");
            await reader.OpenAsync();
            await using var count = reader.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM journal WHERE run_id = 'r2'";
            ((long)(await count.ExecuteScalarAsync())!).Should().Be(2000);
        }
    }

    [Fact]
    public async Task A_journal_of_a_newer_format_is_refused_with_a_clear_message()
    {
        await using (SqliteJournal.Open(_dir.Path))
        {
        }

        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, "journal.db")}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE meta SET value = '99' WHERE key = 'format_version'";
            await command.ExecuteNonQueryAsync();
        }

        var act = () => SqliteJournal.Open(_dir.Path);

        act.Should().Throw<JournalFormatException>().WithMessage("*journal format 99 is newer*");
    }

    [Fact]
    public async Task Runs_are_listed_in_start_order()
    {
        await using var journal = SqliteJournal.Open(_dir.Path);
        await journal.StartRunAsync(Run("later") with { StartedAt = T0.AddMinutes(1) }, default);
        await journal.StartRunAsync(Run("earlier"), default);

        var runs = await journal.ListRunsAsync(default);

        runs.Select(r => r.Id).Should().Equal("earlier", "later");
        runs.Should().OnlyContain(r => r.Status == RunStatus.Running);
    }

    private static RunRecord Run(string id) => new()
    {
        Id = id,
        Script = "/tmp/x.csx",
        ScriptHash = "abc",
        Language = "csharp",
        EngineVersion = "0.1.0",
        StartedAt = T0,
    };

    private static JournalEntry Entry(string run, long seq, string step, StepEvent e, JsonNode? payload) =>
        new(run, seq, step, e, null, step, "agent", "shell", 1, payload, e == StepEvent.Failed ? "boom" : null, T0.AddSeconds(seq));
}
