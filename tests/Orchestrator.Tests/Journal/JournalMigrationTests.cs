using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;
using static Orchestrator.Tests.Journal.JournalTestData;

namespace Orchestrator.Tests.Journal;

public sealed class JournalMigrationTests : IDisposable
{
    private static readonly DateTimeOffset FixtureStart = new(2026, 11, 20, 9, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();

    private string JournalPath => Path.Combine(_dir.Path, "journal.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_new_journal_is_created_at_the_current_format()
    {
        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            journal.MigratedFromVersion.Should().BeNull();
        }

        (await Scalar("SELECT value FROM meta WHERE key = 'format_version'")).Should().Be("8");
        SqliteJournal.FormatVersion.Should().Be(8);
        ((string)(await Scalar("SELECT sql FROM sqlite_master WHERE name = 'journal'"))!).Should().Contain("WITHOUT ROWID");
    }

    [Fact]
    public async Task Opening_a_format_1_journal_migrates_it_to_the_current_format_and_every_run_and_step_is_still_readable()
    {
        CopyFormatOneFixture(_dir.Path);

        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            journal.MigratedFromVersion.Should().Be(1);

            var runs = await journal.ListRunsAsync(default);
            runs.Select(r => r.Id).Should().Equal("20261120-090000-aaaaaa", "20261120-100000-bbbbbb", "20261120-110000-cccccc");
            runs.Should().OnlyContain(r => r.Host == null && r.Pid == null, "format 1 did not record where a run ran");

            var hello = runs[0];
            hello.Script.Should().Be("/repo/scripts/hello.csx");
            hello.ScriptHash.Should().Be(new string('1', 64));
            hello.Language.Should().Be("csharp");
            hello.EngineVersion.Should().Be("0.1.0");
            hello.Status.Should().Be(RunStatus.Succeeded);
            hello.Input!.ToJsonString().Should().Be("""{"name":"fixture"}""");
            hello.Result!.ToJsonString().Should().Be("""{"greeting":"hello, fixture"}""");
            hello.Error.Should().BeNull();
            hello.StartedAt.Should().Be(FixtureStart);
            hello.DurationMs.Should().Be(60);
            hello.Report.Should().Be("/repo/.orchestrator/reports/20261120-090000-aaaaaa.md");

            var helloSteps = StepFolding.Fold(await journal.GetEntriesAsync(hello.Id, default));
            helloSteps.Select(s => (s.Id, s.Kind, s.Agent, s.Status)).Should().Equal(
                ("shell", "agent", "shell", RunStatus.Succeeded),
                ("summary", "step", (string?)null, RunStatus.Succeeded));
            helloSteps[0].Input!.ToJsonString().Should().Be("""{"command":"echo","args":["hello, fixture"]}""");
            helloSteps[0].Output!["stdout"]!.GetValue<string>().Should().Be("hello, fixture\n");
            helloSteps[0].DurationMs.Should().Be(30);
            helloSteps[1].Output!.ToJsonString().Should().Be("""{"greeting":"hello, fixture"}""");

            var deploy = runs[1];
            deploy.Language.Should().Be("javascript");
            deploy.Status.Should().Be(RunStatus.Failed);
            deploy.Input.Should().BeNull();
            deploy.Error.Should().Be("deploy.js(3): step 'facts' failed: branch 'kernel' failed");
            var deploySteps = StepFolding.Fold(await journal.GetEntriesAsync(deploy.Id, default));
            deploySteps.Select(s => (s.Id, s.ParentId, s.Status, s.Error)).Should().Equal(
                ("facts", (string?)null, RunStatus.Failed, "branch 'kernel' failed"),
                ("facts/kernel/shell", "facts", RunStatus.Failed, "uname exited with code 1"));

            var unfinished = runs[2];
            unfinished.Status.Should().Be(RunStatus.Running);
            unfinished.EndedAt.Should().BeNull();
            var entries = await journal.GetEntriesAsync(unfinished.Id, default);
            entries.Should().ContainSingle().Which.Payload!.GetValue<int>().Should().Be(5);
        }

        (await Scalar("SELECT value FROM meta WHERE key = 'format_version'")).Should().Be("8");
        (await Scalar("SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name IN ('host', 'pid')")).Should().Be(2L);
        (await Scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'journal_run_step'")).Should().Be(0L, "format 4 dropped the index format 2 added");
        (await Scalar("SELECT COUNT(*) FROM journal")).Should().Be(9L);
    }

    [Fact]
    public async Task A_migrated_journal_is_not_migrated_again_and_takes_new_runs_with_their_host_and_pid()
    {
        CopyFormatOneFixture(_dir.Path);
        await using (SqliteJournal.Open(_dir.Path))
        {
        }

        await using var journal = SqliteJournal.Open(_dir.Path);
        journal.MigratedFromVersion.Should().BeNull();
        await journal.StartRunAsync(Run("new"), default);
        await journal.AppendAsync(Entry("new", 1, "s", StepEvent.Started, JsonValue.Create(1)), default);

        var run = await journal.GetRunAsync("new", default);
        run!.Host.Should().Be(Environment.MachineName);
        run.Pid.Should().Be(Environment.ProcessId);
        (await journal.ListRunsAsync(default)).Should().HaveCount(4);
    }

    [Fact]
    public async Task A_migration_that_fails_leaves_the_journal_at_format_1_untouched()
    {
        CopyFormatOneFixture(_dir.Path);
        await Execute("ALTER TABLE runs ADD COLUMN pid INTEGER"); // the second ALTER of the migration now fails

        var act = () => SqliteJournal.Open(_dir.Path);

        act.Should().Throw<JournalFormatException>().WithMessage($"{JournalPath}: could not migrate the journal from format 1 to 2, so it is left at format 1: *duplicate column name: pid*");
        (await Scalar("SELECT value FROM meta WHERE key = 'format_version'")).Should().Be("1");
        (await Scalar("SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name = 'host'")).Should().Be(0L, "the first ALTER was rolled back with the rest");
    }

    [Theory]
    [InlineData("0", "*journal format 0 is not a format this engine knows*")]
    [InlineData("-3", "*format_version '-3' is not a format number*")]
    [InlineData("two", "*format_version 'two' is not a format number*")]
    [InlineData("", "*format_version '' is not a format number*")]
    public async Task A_journal_whose_format_version_is_older_than_1_or_not_a_number_is_refused_naming_the_file(string version, string message)
    {
        await using (SqliteJournal.Open(_dir.Path))
        {
        }

        await Execute($"UPDATE meta SET value = '{version}' WHERE key = 'format_version'");

        var act = () => SqliteJournal.Open(_dir.Path);

        act.Should().Throw<JournalFormatException>().WithMessage(message).And.Message.Should().StartWith(JournalPath + ": ");
    }

    [Fact]
    public async Task A_journal_whose_meta_table_has_no_format_version_is_refused_naming_the_file()
    {
        await using (SqliteJournal.Open(_dir.Path))
        {
        }

        await Execute("DELETE FROM meta");

        var act = () => SqliteJournal.Open(_dir.Path);

        act.Should().Throw<JournalFormatException>().WithMessage($"{JournalPath}: *meta table has no format_version*");
    }

    [Fact]
    public async Task A_sqlite_database_of_some_other_program_is_refused_naming_the_file()
    {
        await Execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");

        var act = () => SqliteJournal.Open(_dir.Path);

        act.Should().Throw<JournalFormatException>().WithMessage($"{JournalPath}: not an orchestrator journal*customers*");
    }

    [Fact]
    public void A_file_that_is_not_a_sqlite_database_is_refused_naming_the_file()
    {
        File.WriteAllText(JournalPath, "this is a text file, not a journal; it is long enough to have a header, and then some more text.\n");

        var act = () => SqliteJournal.Open(_dir.Path);

        act.Should().Throw<JournalFormatException>().WithMessage($"{JournalPath}: not a journal: the file is not a SQLite database.");
        File.ReadAllText(JournalPath).Should().StartWith("this is a text file", "a refused file is not written to");
    }

    [Fact]
    public async Task A_format_2_journal_gains_the_learning_tables_and_keeps_its_runs()
    {
        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            await journal.StartRunAsync(new RunRecord { Id = "r1", Script = "s.csx", ScriptHash = "h", Language = "csharp", EngineVersion = "1", StartedAt = FixtureStart }, default);
        }

        await Execute(DowngradeTo4 + "DROP TABLE learning; DROP TABLE baselines; DROP TABLE recommendations; UPDATE meta SET value = '2' WHERE key = 'format_version'");
        SqliteConnection.ClearAllPools();

        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            journal.MigratedFromVersion.Should().Be(2);
            (await journal.ListRunsAsync(default)).Should().ContainSingle().Which.Id.Should().Be("r1");
            await journal.Learning.RecordOutcomeAsync(new Orchestrator.Core.Learning.PhaseOutcome("p", "s", "a", true, 2, 0, 20, FixtureStart), default);
            (await journal.Learning.GetOutcomesAsync("p", default)).Should().ContainSingle().Which.MeanItemMs.Should().Be(10);
        }

        (await Scalar("SELECT value FROM meta WHERE key = 'format_version'")).Should().Be("8");
    }

    [Fact]
    public async Task A_format_3_journal_is_clustered_on_its_key_and_keeps_every_entry_in_order()
    {
        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            await journal.StartRunAsync(Run("r1"), default);
            await journal.StartRunAsync(Run("r2"), default);
            for (var seq = 1; seq <= 3; seq++)
            {
                await journal.AppendAsync(Entry("r2", seq, "s" + seq, StepEvent.Started, JsonValue.Create(seq)), default);
                await journal.AppendAsync(Entry("r1", seq, "t" + seq, StepEvent.Succeeded, null), default);
            }
        }

        // Back to format 3's shape: a rowid table, its key as a separate index, and the step index.
        await Execute(DowngradeTo4 + """
            CREATE TABLE journal_rowid (run_id TEXT NOT NULL, seq INTEGER NOT NULL, step_id TEXT NOT NULL, event TEXT NOT NULL, parent_id TEXT,
                name TEXT NOT NULL, kind TEXT NOT NULL, agent TEXT, attempt INTEGER NOT NULL, payload TEXT, error TEXT, at INTEGER NOT NULL,
                PRIMARY KEY (run_id, seq));
            INSERT INTO journal_rowid SELECT * FROM journal;
            DROP TABLE journal;
            ALTER TABLE journal_rowid RENAME TO journal;
            CREATE INDEX journal_run_step ON journal (run_id, step_id);
            UPDATE meta SET value = '3' WHERE key = 'format_version';
            """);
        SqliteConnection.ClearAllPools();

        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            journal.MigratedFromVersion.Should().Be(3);
            (await journal.GetEntriesAsync("r2", default)).Select(e => (e.Seq, e.StepId, e.Payload!.GetValue<int>())).Should().Equal((1, "s1", 1), (2, "s2", 2), (3, "s3", 3));
            (await journal.GetEntriesAsync("r1", default)).Select(e => e.StepId).Should().Equal("t1", "t2", "t3");
            await journal.AppendAsync(Entry("r1", 4, "t4", StepEvent.Started, null), default);
        }

        (await Scalar("SELECT value FROM meta WHERE key = 'format_version'")).Should().Be("8");
        ((string)(await Scalar("SELECT sql FROM sqlite_master WHERE name = 'journal'"))!).Should().Contain("WITHOUT ROWID");
        (await Scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'journal_run_step'")).Should().Be(0L);
        (await Scalar("SELECT COUNT(*) FROM journal")).Should().Be(7L);
    }

    /// <summary>What format 6 added, undone: a current journal made a format-5 one.</summary>
    private const string DowngradeTo5 = """
        ALTER TABLE journal DROP COLUMN chain; ALTER TABLE runs DROP COLUMN final_hash; ALTER TABLE runs DROP COLUMN chain_from;
        UPDATE meta SET value = '5' WHERE key = 'format_version';

        """;

    /// <summary>What formats 5 and 6 added, undone: a current journal made a format-4 one.</summary>
    private const string DowngradeTo4 = DowngradeTo5 + """
        ALTER TABLE runs DROP COLUMN report_error; DROP TABLE run_values; DROP TABLE payload_values;
        UPDATE meta SET value = '4' WHERE key = 'format_version';
        """;

    [Fact]
    public async Task A_format_4_journal_gains_the_value_tables_and_the_report_error_and_keeps_its_entries()
    {
        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            await journal.StartRunAsync(Run("r1"), default);
            await journal.AppendAsync(Entry("r1", 1, "s1", StepEvent.Started, JsonValue.Create("small")), default);
        }

        await Execute(DowngradeTo4);
        (await Scalar("SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name = 'report_error'")).Should().Be(0L);
        SqliteConnection.ClearAllPools();

        var big = new string('x', 100_000);
        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            journal.MigratedFromVersion.Should().Be(4);
            (await journal.GetEntriesAsync("r1", default)).Should().ContainSingle().Which.Payload!.GetValue<string>().Should().Be("small");
            await journal.AppendAsync(Entry("r1", 2, "s1", StepEvent.Succeeded, JsonValue.Create(big)), default);
            await journal.SetReportAsync("r1", null, "t.md.sbn(1,1): error: boom", default);
            (await journal.GetRunAsync("r1", default))!.ReportError.Should().Be("t.md.sbn(1,1): error: boom");
            (await journal.GetEntriesAsync("r1", default))[1].Payload!.GetValue<string>().Should().Be(big);
        }

        (await Scalar("SELECT value FROM meta WHERE key = 'format_version'")).Should().Be("8");
        (await Scalar("SELECT COUNT(*) FROM payload_values")).Should().Be(1L);
    }

    private async Task<object?> Scalar(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={JournalPath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    private async Task Execute(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={JournalPath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
