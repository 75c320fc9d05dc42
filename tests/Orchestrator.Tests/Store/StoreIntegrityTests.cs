using Microsoft.Data.Sqlite;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;
using static Orchestrator.Tests.Journal.JournalTestData;

namespace Orchestrator.Tests.Store;

/// <summary>The start-up check: skipped for a file as its clean close left it, run once otherwise, never fooled by a second process.</summary>
public sealed class StoreIntegrityTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string Store => Path.Combine(_dir.Path, "store");

    private string JournalPath => Path.Combine(Store, "journal.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_file_as_its_clean_close_left_it_is_not_checked_and_a_changed_one_is()
    {
        await WriteRunsAsync(40);
        var stamp = File.GetLastWriteTimeUtc(JournalPath);
        JournalDamage.Apply(JournalPath, JournalDamage.LastPage);
        File.SetLastWriteTimeUtc(JournalPath, stamp);

        // Length and time as recorded: the check, whose cost grows with the file, is skipped.
        FluentActions.Invoking(() => StoreIntegrity.EnsureIntact(Store)).Should().NotThrow();

        File.SetLastWriteTimeUtc(JournalPath, stamp.AddSeconds(1));
        FluentActions.Invoking(() => StoreIntegrity.EnsureIntact(Store)).Should().Throw<StoreDamagedException>()
            .WithMessage($"store '{Store}' is damaged: {JournalPath}: *; run 'orchestrator store check'");
    }

    [Fact]
    public async Task A_journal_with_no_record_of_a_clean_close_is_checked_once_and_recorded_again_when_closed()
    {
        await WriteRunsAsync(5);
        var marker = Path.Combine(Store, "journal.clean");
        File.Exists(marker).Should().BeTrue();
        File.Delete(marker);

        await using (SqliteJournal.Open(Store))
        {
        }

        File.ReadAllText(marker).Should().Be($"{new FileInfo(JournalPath).Length} {File.GetLastWriteTimeUtc(JournalPath).Ticks}");
    }

    [Fact]
    public async Task Two_journals_open_on_one_store_at_once_pass_the_check_while_the_other_writes_and_the_last_to_close_records_it()
    {
        await WriteRunsAsync(1);
        var marker = Path.Combine(Store, "journal.clean");
        var first = SqliteJournal.Open(Store);
        await first.StartRunAsync(Run("first"), default);
        for (var seq = 1; seq <= 2000; seq++)
        {
            await first.AppendAsync(Entry("first", seq, $"s{seq}", StepEvent.Started), default);
        }

        // The first journal's writes changed the file since its record: the second open checks it, mid-write, and finds nothing.
        File.WriteAllText(marker, "0 0");
        var second = SqliteJournal.Open(Store);
        var writing = Task.Run(async () =>
        {
            for (var seq = 2001; seq <= 4000; seq++)
            {
                await first.AppendAsync(Entry("first", seq, $"s{seq}", StepEvent.Started), default);
            }
        });
        var third = SqliteJournal.Open(Store);
        await writing;
        await third.DisposeAsync();

        await first.DisposeAsync();
        File.Exists(marker).Should().BeFalse("the second journal still has the file open, so the first cannot vouch for it");
        await second.DisposeAsync();
        File.ReadAllText(marker).Should().Be($"{new FileInfo(JournalPath).Length} {File.GetLastWriteTimeUtc(JournalPath).Ticks}");
        (await ReadRunCountAsync()).Should().Be(4000);
    }

    private async Task WriteRunsAsync(int runs)
    {
        await using var journal = SqliteJournal.Open(Store);
        for (var r = 0; r < runs; r++)
        {
            var id = $"run-{r:D3}";
            await journal.StartRunAsync(Run(id, T0.AddMinutes(r)), default);
            for (var seq = 1; seq <= 20; seq++)
            {
                await journal.AppendAsync(Entry(id, seq, $"step-{seq}", StepEvent.Started), default);
            }

            await journal.EndRunAsync(id, RunStatus.Succeeded, null, null, T0.AddMinutes(r + 1), default);
        }
    }

    private async Task<long> ReadRunCountAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={JournalPath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM journal WHERE run_id = 'first'";
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
