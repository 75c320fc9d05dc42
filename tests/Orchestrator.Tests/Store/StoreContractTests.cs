using System.Data.Common;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Npgsql;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Learning;
using Orchestrator.Tests.Support;
using static Orchestrator.Tests.Journal.JournalTestData;

namespace Orchestrator.Tests.Store;

/// <summary>
/// What every store must do, run against SQLite (a store folder) and PostgreSQL (a schema of a fresh database): append and
/// read, group commit, replay, prune, migrations, concurrent writers, an unreadable store, learning, and the CLI end to end.
/// </summary>
public abstract partial class StoreContractTests : IDisposable
{
    private protected TempDirectory Dir { get; } = new();

    /// <summary>This test's store, as <c>--store</c> takes it.</summary>
    protected abstract string Store { get; }

    /// <summary>Runs SQL on the store's database, outside the engine.</summary>
    protected abstract Task<object?> SqlAsync(string sql);

    /// <summary>Whether processes on several machines may share the store (PostgreSQL), so that another machine's run cannot be judged from here.</summary>
    protected abstract bool SharedAcrossMachines { get; }

    public virtual void Dispose()
    {
        SqliteConnection.ClearAllPools();
        NpgsqlConnection.ClearAllPools();
        Dir.Dispose();
        GC.SuppressFinalize(this);
    }

    private protected IStoreJournal Open() => StoreJournals.Open(Store);

    [Fact]
    public async Task Entries_read_back_as_appended_with_large_values_stored_once_and_an_intact_chain()
    {
        var large = new JsonObject { ["text"] = new string('x', 10_000) };
        await using (var journal = Open())
        {
            await journal.StartRunAsync(Run("r1"), default);
            await journal.AppendAsync(Entry("r1", 1, "build", StepEvent.Started, JsonNode.Parse("""{"cmd":"make"}""")), default);
            await journal.AppendAsync(Entry("r1", 2, "build", StepEvent.Succeeded, large), default);
            await journal.AppendAsync(Entry("r1", 3, "copy", StepEvent.Succeeded, new JsonObject { ["again"] = large.DeepClone() }), default);
            await journal.EndRunAsync("r1", RunStatus.Succeeded, JsonValue.Create(42), null, T0.AddSeconds(3), default);
        }

        await using var reopened = Open();
        var run = (await reopened.GetRunAsync("r1", default))!;
        run.Status.Should().Be(RunStatus.Succeeded);
        run.Result!.GetValue<int>().Should().Be(42);
        run.DurationMs.Should().Be(3000);
        run.FinalHash.Should().HaveLength(64);
        var entries = await reopened.GetEntriesAsync("r1", default);
        entries.Select(e => (e.Seq, e.StepId, e.Event)).Should().Equal((1, "build", StepEvent.Started), (2, "build", StepEvent.Succeeded), (3, "copy", StepEvent.Succeeded));
        entries[1].Payload!.ToJsonString().Should().Be(large.ToJsonString());
        (await reopened.GetPayloadAsync("r1", 3, default))!["again"]!.ToJsonString().Should().Be(large.ToJsonString());

        var rows = new List<JournalRow>();
        await foreach (var row in reopened.ReadAsync("r1", (_, _, _) => PayloadRead.Preview, default))
        {
            rows.Add(row);
        }

        rows[1].PayloadTruncated.Should().BeTrue();
        rows[1].PayloadChars.Should().Be(large.ToJsonString().Length);
        rows[0].Entry.Payload!.ToJsonString().Should().Be("""{"cmd":"make"}""");

        // A reader following the journal asks only for what it has not seen.
        var after = new List<long>();
        await foreach (var row in reopened.ReadAsync("r1", 1, (_, _, _) => PayloadRead.Full, default))
        {
            after.Add(row.Entry.Seq);
        }

        after.Should().Equal(2, 3);

        // The 10,000 characters are stored once, though two rows hold them.
        Convert.ToInt64(await SqlAsync("SELECT count(*) FROM payload_values"), System.Globalization.CultureInfo.InvariantCulture).Should().Be(1);
        using var verifier = reopened.OpenVerifier();
        var verdict = verifier.Verify("r1", default)!;
        verdict.Intact.Should().BeTrue();
        verdict.FinalHash.Should().Be(run.FinalHash);
    }

    [Fact]
    public async Task Every_append_is_durable_when_its_task_completes_though_thousands_share_commits()
    {
        await using var journal = Open();
        await journal.StartRunAsync(Run("r2"), default);
        var appends = Enumerable.Range(1, 2000)
            .Select(i => Task.Run(async () => await journal.AppendAsync(Entry("r2", i, "s" + i, StepEvent.Succeeded, JsonValue.Create(i)), default)));
        await Task.WhenAll(appends);

        // Read by another journal before this one closes: a completed append is committed, not just queued.
        await using var other = Open();
        (await other.GetEntriesAsync("r2", default)).Should().HaveCount(2000);
        Convert.ToInt64(await SqlAsync("SELECT count(*) FROM journal WHERE run_id = 'r2'"), System.Globalization.CultureInfo.InvariantCulture).Should().Be(2000);
    }

    [Fact]
    public async Task A_failed_run_resumed_from_the_store_replays_its_finished_steps_and_ends_as_an_uninterrupted_run_does()
    {
        var counter = Path.Combine(Dir.Path, "counter");
        var gate = Path.Combine(Dir.Path, "gate");
        var script = Dir.Write("gated.csx", $$"""
            var first = await Step("first", () => { File.AppendAllText(@"{{counter}}", "x"); return new { value = 20 }; });
            var second = await Step("second", () => File.Exists(@"{{gate}}") ? 22 : throw new InvalidOperationException("gate closed"));
            return new { sum = first!["value"]!.GetValue<int>() + second!.GetValue<int>(), big = new string('y', 5000) };
            """);

        var failed = await CliRunner.RunAsync("run", script, "--store", Store, "--json");
        failed.ExitCode.Should().Be(1, failed.ToString());
        var id = JsonNode.Parse(failed.LastLine)!["runId"]!.GetValue<string>();

        File.WriteAllText(gate, "");
        var resumed = await CliRunner.RunAsync("resume", id, "--store", Store, "--json");
        resumed.ExitCode.Should().Be(0, resumed.ToString());
        File.ReadAllText(counter).Should().Be("x", "the finished step is replayed from the store, not run again");

        var uninterrupted = await CliRunner.RunAsync("run", script, "--store", Store, "--json");
        uninterrupted.ExitCode.Should().Be(0, uninterrupted.ToString());
        JsonNode.Parse(resumed.LastLine)!["result"]!.ToJsonString().Should().Be(JsonNode.Parse(uninterrupted.LastLine)!["result"]!.ToJsonString());

        var verified = await CliRunner.RunAsync("runs", "verify", "--all", "--store", Store);
        verified.ExitCode.Should().Be(0, verified.ToString());
        verified.Stdout.Should().Contain("2 runs verified: all intact");
    }

    [Fact]
    public async Task Prune_deletes_old_runs_with_their_rows_and_the_values_only_they_referred_to()
    {
        var shared = new JsonObject { ["text"] = new string('s', 6000) };
        await using var journal = Open();
        for (var i = 0; i < 3; i++)
        {
            var id = $"p{i}";
            await journal.StartRunAsync(Run(id, T0.AddMinutes(i)) with { Pid = ExitedProcessId() }, default);
            await journal.AppendAsync(Entry(id, 1, "own", StepEvent.Succeeded, new JsonObject { ["text"] = new string((char)('a' + i), 6000) }), default);
            await journal.AppendAsync(Entry(id, 2, "shared", StepEvent.Succeeded, shared.DeepClone()), default);
            await journal.EndRunAsync(id, RunStatus.Succeeded, null, null, T0.AddMinutes(i + 1), default);
        }

        (await journal.PruneAsync(null, 1, default)).Should().Equal("p0", "p1");

        (await journal.ListRunsAsync(default)).Select(r => r.Id).Should().Equal("p2");
        Convert.ToInt64(await SqlAsync("SELECT count(*) FROM journal"), System.Globalization.CultureInfo.InvariantCulture).Should().Be(2);
        Convert.ToInt64(await SqlAsync("SELECT count(*) FROM payload_values"), System.Globalization.CultureInfo.InvariantCulture).Should().Be(2, "p2's own value and the shared one stay");
        (await journal.GetPayloadAsync("p2", 2, default))!.ToJsonString().Should().Be(shared.ToJsonString());

        // A value the prune dropped with its runs is stored again by the next run that holds it.
        var dropped = new JsonObject { ["text"] = new string('a', 6000) };
        await journal.StartRunAsync(Run("p3", T0.AddMinutes(5)), default);
        await journal.AppendAsync(Entry("p3", 1, "own", StepEvent.Succeeded, dropped), default);
        (await journal.GetPayloadAsync("p3", 1, default))!.ToJsonString().Should().Be(dropped.ToJsonString());
    }

    [Fact]
    public async Task A_new_store_is_created_at_the_current_format_and_reopening_it_migrates_nothing()
    {
        await using (var journal = Open())
        {
            journal.MigratedFromVersion.Should().BeNull();
            await journal.StartRunAsync(Run("kept"), default);
        }

        (await SqlAsync("SELECT value FROM meta WHERE key = 'format_version'")).Should().Be(SqliteJournal.FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await using var reopened = Open();
        reopened.MigratedFromVersion.Should().BeNull();
        (await reopened.GetRunAsync("kept", default)).Should().NotBeNull();
    }

    [Fact]
    public async Task A_store_of_a_newer_or_unreadable_format_is_refused_in_one_line_with_exit_2_and_left_unchanged()
    {
        await (await Task.Run(Open)).DisposeAsync();
        await SqlAsync("UPDATE meta SET value = '99' WHERE key = 'format_version'");

        var newer = await CliRunner.RunAsync("runs", "--store", Store);
        newer.ExitCode.Should().Be(2, newer.ToString());
        newer.Stderr.Trim().Should().NotContain("\n").And.Contain("journal format 99 is newer than this engine understands");
        (await SqlAsync("SELECT value FROM meta WHERE key = 'format_version'")).Should().Be("99");

        await SqlAsync("UPDATE meta SET value = 'garbage' WHERE key = 'format_version'");
        var unreadable = await CliRunner.RunAsync("runs", "--store", Store);
        unreadable.ExitCode.Should().Be(2, unreadable.ToString());
        unreadable.Stderr.Trim().Should().NotContain("\n").And.Contain("orchestrator: ").And.NotContain("Unhandled").And.NotContain(" at ");
    }

    [Fact]
    public async Task Two_journals_on_the_same_store_append_to_different_runs_at_once_and_both_chains_hold()
    {
        await using var a = Open();
        await using var b = Open();
        await a.StartRunAsync(Run("ra"), default);
        await b.StartRunAsync(Run("rb"), default);
        var writers = new[] { (a, "ra"), (b, "rb") }.Select(w => Task.Run(async () =>
        {
            var (journal, run) = w;
            await Task.WhenAll(Enumerable.Range(1, 500).Select(i => journal.AppendAsync(Entry(run, i, "s" + i, StepEvent.Succeeded, new JsonObject { ["i"] = i, ["run"] = run }), default).AsTask()));
            await journal.EndRunAsync(run, RunStatus.Succeeded, null, null, T0.AddMinutes(1), default);
        }));
        await Task.WhenAll(writers);

        foreach (var run in new[] { "ra", "rb" })
        {
            var entries = await a.GetEntriesAsync(run, default);
            entries.Select(e => e.Seq).Should().Equal(Enumerable.Range(1, 500).Select(i => (long)i));
            entries.Should().OnlyContain(e => e.Payload!["run"]!.GetValue<string>() == run);
            using var verifier = b.OpenVerifier();
            verifier.Verify(run, default)!.Intact.Should().BeTrue();
        }
    }

    [Fact]
    public async Task Learning_outcomes_baselines_and_recommendations_round_trip()
    {
        await using (var journal = Open())
        {
            await journal.Learning.RecordOutcomeAsync(new PhaseOutcome("build", "parallel", "shell", true, 4, 0, 40, T0), default);
            await journal.Learning.RecordOutcomeAsync(new PhaseOutcome("build", "parallel", "shell", false, 2, 1, 60, T0.AddMinutes(1)), default);
            await journal.Learning.SaveBaselinesAsync(new Dictionary<string, Baseline> { ["duration"] = new(1, 10, 0) }, T0, default);
            await journal.Learning.SaveBaselinesAsync(new Dictionary<string, Baseline> { ["duration"] = new(2, 12, 8), ["cost"] = new(1, 3, 0) }, T0, default);
            var added = await journal.Learning.AddRecommendationAsync(new Recommendation
            {
                CreatedAt = T0, RunId = "r", Phase = "build", Strategy = "parallel", Kind = "concurrency", Risk = RecommendationRisk.High,
                Summary = "more", Change = new JsonObject { ["concurrency"] = 8 },
            }, default);
            added.Id.Should().BePositive();
            (await journal.Learning.DecideAsync(added.Id, RecommendationStatus.Approved, T0.AddHours(1), default)).Should().BeTrue();
            (await journal.Learning.DecideAsync(added.Id, RecommendationStatus.Rejected, T0.AddHours(2), default)).Should().BeFalse("it is no longer pending");
        }

        await using var reopened = Open();
        var outcome = (await reopened.Learning.GetOutcomesAsync("build", default)).Should().ContainSingle().Subject;
        (outcome.Runs, outcome.Successes, outcome.Items, outcome.FailedItems, outcome.TotalMs, outcome.LastAt).Should().Be((2L, 1L, 6L, 1L, 100.0, T0.AddMinutes(1)));
        var baselines = await reopened.Learning.GetBaselinesAsync(default);
        baselines.Should().HaveCount(2);
        baselines["duration"].Should().Be(new Baseline(2, 12, 8));
        var recommendation = (await reopened.Learning.ListRecommendationsAsync(default)).Should().ContainSingle().Subject;
        (recommendation.Status, recommendation.DecidedAt, recommendation.Change["concurrency"]!.GetValue<int>()).Should().Be((RecommendationStatus.Approved, T0.AddHours(1), 8));
    }

    [Fact]
    public async Task Each_phase_outcome_is_kept_per_run_and_read_back_newest_first_with_its_run_and_cost()
    {
        await using (var journal = Open())
        {
            await journal.Learning.RecordOutcomeAsync(new PhaseOutcome("build", "fast", "shell", true, 4, 0, 40, T0) { RunId = "r1", Cost = 12.5 }, default);
            await journal.Learning.RecordOutcomeAsync(new PhaseOutcome("build", "fast", "shell", false, 4, 4, 44, T0.AddMinutes(1)) { RunId = "r2" }, default);
            await journal.Learning.RecordOutcomeAsync(new PhaseOutcome("test", "slow", "shell", true, 1, 0, 9, T0.AddMinutes(2)) { RunId = "r2" }, default);
        }

        await using var reopened = Open();
        var recent = await reopened.Learning.GetRecentAsync("build", 10, default);
        recent.Select(o => (o.RunId, o.Succeeded, o.Items, o.FailedItems, o.DurationMs, o.Cost, o.At)).Should().Equal(
            ("r2", false, 4L, 4L, 44.0, 0.0, T0.AddMinutes(1)),
            ("r1", true, 4L, 0L, 40.0, 12.5, T0));
        (await reopened.Learning.GetRecentAsync("build", 1, default)).Should().ContainSingle().Which.RunId.Should().Be("r2");
    }

    [Fact]
    public async Task Totals_learned_before_format_8_become_one_old_outcome_each_in_the_history()
    {
        await using (var journal = Open())
        {
            await journal.Learning.RecordOutcomeAsync(new PhaseOutcome("build", "fast", "shell", true, 4, 0, 40, T0) { RunId = "r1" }, default);
        }

        // As a format-7 store holds it: the totals without their history.
        await SqlAsync("DROP TABLE learning_runs; UPDATE meta SET value = '7' WHERE key = 'format_version'");
        await using var migrated = Open();
        migrated.MigratedFromVersion.Should().Be(7);
        var seeded = (await migrated.Learning.GetRecentAsync("build", 10, default)).Should().ContainSingle().Subject;
        (seeded.RunId, seeded.Strategy, seeded.Items, seeded.Succeeded).Should().Be(("", "fast", 4L, true));
    }

    [Fact]
    public async Task Waits_signals_and_schedules_round_trip_and_each_signal_is_taken_by_one_wait_only()
    {
        await using (var journal = Open())
        {
            var wait = new Core.Waits.WaitRecord { RunId = "r", StepId = "deploy", Kind = "approval", Name = "deploy", Data = new JsonObject { ["v"] = 1 }, CreatedAt = T0, DueAt = T0.AddHours(4) };
            (await journal.Waits.OpenAsync(wait, default)).Name.Should().Be("deploy");
            (await journal.Waits.OpenAsync(wait with { Name = "changed" }, default)).Name.Should().Be("deploy", "a wait is opened once; a replay finds the first");
            (await journal.Waits.DecideAsync("r", "deploy", new JsonObject { ["approved"] = true }, T0.AddHours(1), default)).Should().BeTrue();
            (await journal.Waits.DecideAsync("r", "deploy", new JsonObject { ["approved"] = false }, T0.AddHours(2), default)).Should().BeFalse("it is decided already");
            await journal.Waits.SignalAsync("r", "payment", new JsonObject { ["n"] = 1 }, T0, default);
            await journal.Waits.SignalAsync("r", "payment", new JsonObject { ["n"] = 2 }, T0, default);
            var taken = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => journal.Waits.ConsumeAsync("r", "payment", $"wait-{i}", T0, default).AsTask()));
            taken.Where(t => t is not null).Select(t => t!.Data!["n"]!.GetValue<int>()).Should().BeEquivalentTo([1, 2], "two signals, each taken by exactly one of four waits");
            (await journal.Schedules.AddAsync(new Core.Schedules.Schedule { Name = "nightly", Script = "/s/n.csx", Cron = "0 3 * * *", CreatedAt = T0 }, default)).Should().BeTrue();
            (await journal.Schedules.ClaimAsync("nightly", null, T0.AddHours(3), default)).Should().BeTrue();
            await journal.Schedules.SetRunAsync("nightly", T0.AddHours(3), "run-1", default);
        }

        await using var reopened = Open();
        var stored = (await reopened.Waits.ListAsync("r", includeClosed: true, default)).Should().ContainSingle().Subject;
        (stored.Data!["v"]!.GetValue<int>(), stored.Decision!["approved"]!.GetValue<bool>(), stored.DueAt).Should().Be((1, true, T0.AddHours(4)));
        var schedule = (await reopened.Schedules.ListAsync(default)).Should().ContainSingle().Subject;
        (schedule.LastOccurrence, schedule.LastRunId).Should().Be((T0.AddHours(3), "run-1"));
    }

    [Fact]
    public async Task The_cli_runs_hello_lists_shows_and_reports_it_from_the_store()
    {
        var hello = Path.Combine(RepoPaths.Root, "scripts", "hello.csx");
        var run = await CliRunner.RunAsync("run", hello, "--store", Store, "--json");
        run.ExitCode.Should().Be(0, run.ToString());
        var id = JsonNode.Parse(run.LastLine)!["runId"]!.GetValue<string>();

        var runs = await CliRunner.RunAsync("runs", "--store", Store);
        runs.ExitCode.Should().Be(0, runs.ToString());
        runs.Stdout.Should().MatchRegex($@"(?m)^{id}\s+succeeded\s");

        var shown = await CliRunner.RunAsync("runs", "show", id, "--store", Store);
        shown.ExitCode.Should().Be(0, shown.ToString());
        shown.Stdout.Should().MatchRegex(@"(?m)^facts/kernel/shell\s+agent\s+shell\s+succeeded").And.MatchRegex(@"(?m)^summary\s+step\s+succeeded");

        var report = await CliRunner.RunAsync("report", id, "--store", Store);
        report.ExitCode.Should().Be(0, report.ToString());
        report.Stdout.Should().Contain(id).And.Contain("hello, world");

        var again = await CliRunner.RunAsync("resume", id, "--store", Store);
        again.ExitCode.Should().Be(2, again.ToString());
        again.Stderr.Should().Contain("already succeeded");
    }

    [Fact]
    public async Task A_run_another_machine_records_as_running_is_never_pruned_or_resumed_unasked_on_a_shared_store()
    {
        var hello = Path.Combine(RepoPaths.Root, "scripts", "hello.csx");
        await using (var journal = Open())
        {
            await journal.StartRunAsync(Run("r-elsewhere") with { Host = "another-machine", Pid = 4242, Script = hello }, default);
            await journal.AppendAsync(Entry("r-elsewhere", 1, "a", StepEvent.Started), default);
        }

        // A SQLite store cannot be used from two machines, so its run there is gone; a PostgreSQL store's may be alive.
        var runs = await CliRunner.RunAsync("runs", "--store", Store);
        runs.Stdout.Should().MatchRegex($@"(?m)^r-elsewhere\s+{(SharedAcrossMachines ? "running" : "interrupted")}\s");

        var resume = await CliRunner.RunAsync("resume", "r-elsewhere", "--store", Store, "--no-host");
        if (SharedAcrossMachines)
        {
            resume.ExitCode.Should().Be(2, resume.ToString());
            resume.Stderr.Trim().Should().Be("orchestrator: run r-elsewhere is recorded as running on another-machine (process 4242); if that process is gone, resume it with --force");
        }

        var prune = await CliRunner.RunAsync("runs", "prune", "--older-than", "1d", "--store", Store);
        prune.ExitCode.Should().Be(0, prune.ToString());
        await using (var journal = Open())
        {
            var kept = await journal.GetRunAsync("r-elsewhere", default);
            if (SharedAcrossMachines)
            {
                kept.Should().NotBeNull("a run another machine may still be driving is never pruned");
                kept!.Status.Should().Be(RunStatus.Running);
            }
            else
            {
                kept.Should().BeNull("an interrupted run is pruned");
            }
        }

        if (SharedAcrossMachines)
        {
            // The user says its process is gone: --force resumes it here, and it finishes.
            var forced = await CliRunner.RunAsync("resume", "r-elsewhere", "--store", Store, "--no-host", "--force", "--json");
            forced.ExitCode.Should().Be(0, forced.ToString());
            JsonNode.Parse(forced.LastLine)!["status"]!.GetValue<string>().Should().Be("succeeded");
        }
    }
}

/// <summary>The contract on a SQLite store folder.</summary>
public sealed class SqliteStoreContractTests : StoreContractTests
{
    protected override string Store => Path.Combine(Dir.Path, "store");

    protected override bool SharedAcrossMachines => false;

    protected override async Task<object?> SqlAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(Store, "journal.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    [Fact]
    public async Task A_format_1_store_is_migrated_to_the_current_format()
    {
        CopyFormatOneFixture(Store);
        await using var journal = Open();
        journal.MigratedFromVersion.Should().Be(1);
        (await journal.ListRunsAsync(default)).Should().NotBeEmpty();
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_is_one_line_and_exit_2()
    {
        Directory.CreateDirectory(Store);
        File.WriteAllBytes(Path.Combine(Store, "journal.db"), new byte[8192]);
        File.WriteAllText(Path.Combine(Store, "journal.db"), "not a database at all, just text " + new string('z', 5000));

        var result = await CliRunner.RunAsync("runs", "--store", Store);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Trim().Should().NotContain("\n").And.Contain(Store);
    }
}

/// <summary>The contract on PostgreSQL: each test a schema of its own in a database made for this class.</summary>
public sealed class PostgresStoreContractTests(PostgresTestDatabase database) : StoreContractTests, IClassFixture<PostgresTestDatabase>
{
    private string? _store;

    protected override string Store => _store ??= database.NewStore();

    protected override bool SharedAcrossMachines => true;

    public override void Dispose()
    {
        if (_store is not null && Directory.Exists(StoreLocation.Folder(_store)))
        {
            // The store's local folder (reports, logs, compile cache) is under the working folder.
            Directory.Delete(StoreLocation.Folder(_store), recursive: true);
        }

        base.Dispose();
    }

    protected override async Task<object?> SqlAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Store);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    [Fact]
    public void The_last_postgres_migration_is_the_engines_journal_format()
    {
        _ = database.Server;
        Orchestrator.Core.Journal.Postgres.PostgresSchema.Migrations[^1].Format.Should().Be(SqliteJournal.FormatVersion, "a new journal format needs its PostgreSQL migration too");
    }

    [Fact]
    public async Task A_database_with_other_tables_named_runs_is_refused_not_taken_over()
    {
        await SqlAsync("CREATE TABLE runs (x int)");
        var result = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Root, "scripts", "hello.csx"), "--store", Store);
        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Trim().Should().NotContain("\n").And.Contain("not an orchestrator store");
        (await SqlAsync("SELECT to_regclass('meta') IS NULL")).Should().Be(true);
    }

    [Fact]
    public async Task A_verb_that_only_reads_creates_no_store_in_an_empty_database()
    {
        var result = await CliRunner.RunAsync("runs", "--store", Store);
        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("the database has no store yet");
        (await SqlAsync("SELECT to_regclass('meta') IS NULL")).Should().Be(true);
    }

    [Fact]
    public async Task An_unreachable_server_refused_credentials_and_a_missing_database_are_one_line_each_with_the_password_masked()
    {
        var server = database.Server;
        var cases = new (string Store, string Says)[]
        {
            ($"postgres://{server.Username}:{Uri.EscapeDataString(server.Password!)}@127.0.0.1:1/nowhere", "cannot be reached"),
            (new NpgsqlConnectionStringBuilder(Store) { Password = "wrong-secret" }.ConnectionString, "refused the credentials"),
            (new NpgsqlConnectionStringBuilder(Store) { Database = "no_such_db_here" }.ConnectionString, "no such database"),
        };
        foreach (var (store, says) in cases)
        {
            var result = await CliRunner.RunAsync("runs", "--store", store);
            result.ExitCode.Should().Be(2, result.ToString());
            var line = result.Stderr.Trim();
            line.Should().NotContain("\n").And.StartWith("orchestrator: cannot open the store 'Host=").And.Contain(says).And.Contain("Password=***");
            line.Should().NotContain(server.Password!).And.NotContain("wrong-secret");
        }
    }

    [Fact]
    public async Task Store_check_salvage_and_stats_say_they_read_a_store_folder()
    {
        _ = database.Server;
        foreach (var verb in new[] { new[] { "store", "check" }, ["store", "stats"], ["store", "salvage", "--out", Path.Combine(Dir.Path, "out")] })
        {
            var result = await CliRunner.RunAsync([.. verb, "--store", Store]);
            result.ExitCode.Should().Be(2, result.ToString());
            result.Stderr.Trim().Should().NotContain("\n").And.Contain("is a PostgreSQL database: this command reads a store folder's SQLite file");
        }
    }
}
