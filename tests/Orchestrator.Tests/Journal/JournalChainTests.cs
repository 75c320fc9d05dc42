using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;
using static Orchestrator.Tests.Journal.JournalTestData;

namespace Orchestrator.Tests.Journal;

/// <summary>The journal's hash chain as the writer builds it and the verifier reads it, on a real SQLite file.</summary>
public sealed class JournalChainTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string JournalPath => Path.Combine(_dir.Path, "journal.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public async Task Runs_appended_in_one_batch_each_keep_their_own_chain_and_end_with_the_hash_the_verifier_computes()
    {
        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            await journal.StartRunAsync(Run("r1"), default);
            await journal.StartRunAsync(Run("r2"), default);

            // Not awaited one by one: the writer takes them in one or a few batches, interleaved between the runs.
            var appends = new List<Task>();
            for (var seq = 1; seq <= 50; seq++)
            {
                appends.Add(journal.AppendAsync(Entry("r1", seq, "a" + seq, StepEvent.Started, JsonValue.Create(seq)), default).AsTask());
                appends.Add(journal.AppendAsync(Entry("r2", seq, "b" + seq, StepEvent.Succeeded, new JsonObject { ["big"] = new string('x', 5000 + seq) }), default).AsTask());
            }

            await Task.WhenAll(appends);
            await journal.EndRunAsync("r1", RunStatus.Succeeded, null, null, T0.AddMinutes(1), default);
            await journal.EndRunAsync("r2", RunStatus.Succeeded, null, null, T0.AddMinutes(1), default);

            var r1 = (await journal.GetRunAsync("r1", default))!;
            var r2 = (await journal.GetRunAsync("r2", default))!;
            r1.FinalHash.Should().MatchRegex("^[0-9a-f]{64}$");
            r2.FinalHash.Should().NotBe(r1.FinalHash);

            using var verifier = JournalVerifier.Open(JournalPath);
            var v1 = verifier.Verify("r1", default)!;
            var v2 = verifier.Verify("r2", default)!;
            v1.Should().Be(new ChainVerdict("r1", 50, 0, r1.FinalHash, null));
            v2.Should().Be(new ChainVerdict("r2", 50, 0, r2.FinalHash, null));
            verifier.Verify("nope", default).Should().BeNull();
        }
    }

    [Fact]
    public async Task A_step_journaled_after_its_run_ended_moves_the_final_hash_with_it()
    {
        await using var journal = SqliteJournal.Open(_dir.Path);
        await journal.StartRunAsync(Run("r1"), default);
        await journal.AppendAsync(Entry("r1", 1, "s", StepEvent.Started), default);
        await journal.EndRunAsync("r1", RunStatus.Cancelled, null, "the run was cancelled", T0.AddMinutes(1), default);
        var ended = (await journal.GetRunAsync("r1", default))!.FinalHash;

        await journal.AppendAsync(Entry("r1", 2, "s", StepEvent.Failed), default);

        var late = (await journal.GetRunAsync("r1", default))!.FinalHash;
        late.Should().NotBe(ended);
        using var verifier = JournalVerifier.Open(JournalPath);
        verifier.Verify("r1", default).Should().Be(new ChainVerdict("r1", 2, 0, late, null));
    }

    [Fact]
    public async Task A_format_5_journal_is_migrated_with_its_runs_unchained_and_a_resumed_one_chains_what_it_appends_from_then_on()
    {
        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            await journal.StartRunAsync(Run("old"), default);
            await journal.AppendAsync(Entry("old", 1, "s1", StepEvent.Started), default);
            await journal.AppendAsync(Entry("old", 2, "s1", StepEvent.Succeeded, JsonValue.Create("one")), default);
            await journal.EndRunAsync("old", RunStatus.Failed, null, "boom", T0.AddMinutes(1), default);
        }

        Execute("""
            ALTER TABLE journal DROP COLUMN chain; ALTER TABLE runs DROP COLUMN final_hash; ALTER TABLE runs DROP COLUMN chain_from;
            UPDATE meta SET value = '5' WHERE key = 'format_version';
            """);
        SqliteConnection.ClearAllPools();

        // Read-only, the verifier will not migrate: a format-5 file is refused, naming it.
        var refused = () => JournalVerifier.Open(JournalPath);
        refused.Should().Throw<JournalFormatException>().WithMessage($"{JournalPath}: journal format 5 has no hash chains*");

        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            journal.MigratedFromVersion.Should().Be(5);
            (await journal.GetRunAsync("old", default))!.FinalHash.Should().BeNull("nothing vouches for rows journaled before the chain");
            using (var verifier = JournalVerifier.Open(JournalPath))
            {
                verifier.Verify("old", default).Should().Be(new ChainVerdict("old", 2, 2, null, null));
            }

            // Resumed: what it appends now is chained, from the run's genesis at seq 3.
            await journal.ReopenRunAsync("old", default);
            await journal.AppendAsync(Entry("old", 3, "s2", StepEvent.Started), default);
            await journal.AppendAsync(Entry("old", 4, "s2", StepEvent.Succeeded, JsonValue.Create("two")), default);
            await journal.EndRunAsync("old", RunStatus.Succeeded, null, null, T0.AddMinutes(2), default);
            var final = (await journal.GetRunAsync("old", default))!.FinalHash;

            using (var verifier = JournalVerifier.Open(JournalPath))
            {
                verifier.Verify("old", default).Should().Be(new ChainVerdict("old", 4, 2, final, null));
            }
        }

        Scalar("SELECT value FROM meta WHERE key = 'format_version'").Should().Be("8");
        Scalar("SELECT chain_from FROM runs WHERE id = 'old'").Should().Be(3L);
        Scalar("SELECT COUNT(*) FROM journal WHERE chain IS NULL").Should().Be(2L);

        // An edit among the chained rows shows; among the unchained ones it cannot, and docs/reference/journal-format.md says so.
        Execute("UPDATE journal SET payload = '\"three\"' WHERE seq = 4");
        using (var verifier = JournalVerifier.Open(JournalPath))
        {
            verifier.Verify("old", default)!.Break.Should().Be(new ChainBreak(4, "s2", "it was changed: it does not hash to its link in the chain"));
        }
    }

    [Fact]
    public async Task A_chained_run_whose_rows_are_all_marked_unchained_does_not_match_its_final_hash()
    {
        string? final;
        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            await journal.StartRunAsync(Run("r1"), default);
            await journal.AppendAsync(Entry("r1", 1, "s1", StepEvent.Started), default);
            await journal.AppendAsync(Entry("r1", 2, "s1", StepEvent.Succeeded), default);
            await journal.EndRunAsync("r1", RunStatus.Succeeded, null, null, T0.AddMinutes(1), default);
            final = (await journal.GetRunAsync("r1", default))!.FinalHash;
        }

        Execute("UPDATE runs SET chain_from = 3; UPDATE journal SET payload = '1' WHERE seq = 2");

        using var verifier = JournalVerifier.Open(JournalPath);
        var verdict = verifier.Verify("r1", default)!;
        verdict.Break!.Seq.Should().Be(0);
        verdict.Break.Reason.Should().StartWith($"the run's final hash {final} is not the chain's last link");
    }

    private object? Scalar(string sql) => SqlFile.Scalar(JournalPath, sql);

    private void Execute(string sql) => SqlFile.Execute(JournalPath, sql);
}
