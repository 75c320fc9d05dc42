using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;
using static Orchestrator.Tests.Journal.JournalTestData;

namespace Orchestrator.Tests.Journal;

/// <summary><see cref="IJournal.PruneAsync"/>, proved on both journals.</summary>
public sealed class JournalRetentionTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private readonly List<IJournal> _journals = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var journal in _journals)
        {
            await journal.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("memory")]
    public async Task Prune_by_age_removes_only_the_runs_started_before_the_cutoff(string kind)
    {
        var journal = await JournalWithFinishedRuns(kind, "d1", "d2", "d3", "d4"); // started T0 + 1..4 days

        var pruned = await journal.PruneAsync(T0.AddDays(3), null, default);

        pruned.Should().Equal("d1", "d2");
        (await journal.ListRunsAsync(default)).Select(r => r.Id).Should().Equal("d3", "d4");
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("memory")]
    public async Task Prune_by_keep_keeps_the_newest_runs_whatever_their_age(string kind)
    {
        var journal = await JournalWithFinishedRuns(kind, "d1", "d2", "d3", "d4");

        var pruned = await journal.PruneAsync(null, 3, default);

        pruned.Should().Equal("d1");
        (await journal.ListRunsAsync(default)).Select(r => r.Id).Should().Equal("d2", "d3", "d4");
        (await journal.PruneAsync(null, 0, default)).Should().Equal("d2", "d3", "d4");
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("memory")]
    public async Task With_age_and_keep_a_run_is_pruned_only_if_it_is_older_than_the_cutoff_and_not_among_the_newest(string kind)
    {
        var journal = await JournalWithFinishedRuns(kind, "d1", "d2", "d3", "d4", "d5");

        // Older than the cutoff: d1..d4. Among the newest 3: d3..d5. So only d1 and d2 go.
        var pruned = await journal.PruneAsync(T0.AddDays(4.5), 3, default);

        pruned.Should().Equal("d1", "d2");

        // Keep protects old runs: with the newest 3 kept and every run older than the cutoff, nothing more goes.
        (await journal.PruneAsync(T0.AddDays(10), 3, default)).Should().BeEmpty();
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("memory")]
    public async Task A_run_still_running_on_a_live_process_is_never_pruned_but_an_interrupted_one_is(string kind)
    {
        var journal = Open(kind);
        var other = StartLiveProcess();
        try
        {
            await journal.StartRunAsync(Run("running-here", T0.AddDays(1)), default);
            await journal.StartRunAsync(Run("running-there", T0.AddDays(2)) with { Pid = other.Id }, default);
            await journal.StartRunAsync(Run("crashed", T0.AddDays(3)) with { Pid = ExitedProcessId() }, default);
            await journal.StartRunAsync(Run("moved", T0.AddDays(4)) with { Host = "another-machine" }, default);

            var pruned = await journal.PruneAsync(T0.AddDays(30), null, default);

            pruned.Should().Equal("crashed", "moved");
            (await journal.ListRunsAsync(default)).Select(r => r.Id).Should().Equal("running-here", "running-there");
            (await journal.PruneAsync(null, 0, default)).Should().BeEmpty();
        }
        finally
        {
            Stop(other);
        }
    }

    [Fact]
    public async Task A_pruned_run_leaves_no_journal_rows_and_other_runs_keep_theirs()
    {
        var journal = await JournalWithFinishedRuns("sqlite", "d1", "d2");

        (await journal.PruneAsync(T0.AddDays(1.5), null, default)).Should().Equal("d1");

        var path = ((SqliteJournal)journal).DatabasePath;
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT run_id, COUNT(*) FROM journal GROUP BY run_id";
        var counts = new List<(string, long)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                counts.Add((reader.GetString(0), reader.GetInt64(1)));
            }
        }

        counts.Should().Equal(("d2", 2L));
        (await journal.GetEntriesAsync("d1", default)).Should().BeEmpty();
        (await journal.GetRunAsync("d1", default)).Should().BeNull();
    }

    [Fact]
    public async Task A_prune_serializes_with_concurrent_appends_of_a_live_run()
    {
        var journal = await JournalWithFinishedRuns("sqlite", Enumerable.Range(1, 50).Select(i => "d" + i).ToArray());
        await journal.StartRunAsync(Run("live", T0), default);

        var appends = Enumerable.Range(1, 500)
            .Select(i => Task.Run(async () => await journal.AppendAsync(Entry("live", i, "s" + i, StepEvent.Succeeded, JsonValue.Create(i)), default)))
            .ToList();
        var pruned = await journal.PruneAsync(T0.AddYears(1), null, default);
        await Task.WhenAll(appends);

        pruned.Should().HaveCount(50).And.NotContain("live");
        (await journal.GetEntriesAsync("live", default)).Should().HaveCount(500);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("memory")]
    public async Task A_prune_without_a_cutoff_or_a_count_or_with_a_negative_count_is_refused(string kind)
    {
        var journal = await JournalWithFinishedRuns(kind, "d1");

        await journal.Invoking(j => j.PruneAsync(null, null, default).AsTask()).Should().ThrowAsync<ArgumentException>();
        await journal.Invoking(j => j.PruneAsync(null, -1, default).AsTask()).Should().ThrowAsync<ArgumentOutOfRangeException>();
        (await journal.ListRunsAsync(default)).Should().ContainSingle();
    }

    /// <summary>Finished runs with two journal events each, run <c>dN</c> started N days after T0.</summary>
    private async Task<IJournal> JournalWithFinishedRuns(string kind, params string[] ids)
    {
        var journal = Open(kind);
        foreach (var id in ids)
        {
            var started = T0.AddDays(int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture));
            await journal.StartRunAsync(Run(id, started), default);
            await journal.AppendAsync(Entry(id, 1, "s", StepEvent.Started), default);
            await journal.AppendAsync(Entry(id, 2, "s", StepEvent.Succeeded, JsonValue.Create(1)), default);
            await journal.EndRunAsync(id, RunStatus.Succeeded, null, null, started.AddSeconds(1), default);
        }

        return journal;
    }

    private IJournal Open(string kind)
    {
        IJournal journal = kind == "sqlite" ? SqliteJournal.Open(_dir.Path) : new InMemoryJournal();
        _journals.Add(journal);
        return journal;
    }
}
