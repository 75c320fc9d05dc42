using Npgsql;
using Orchestrator.Cluster.Runs;
using Orchestrator.Cluster.Schema;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Journal.Postgres;
using Orchestrator.Tests.Store;
using static Orchestrator.Tests.Journal.JournalTestData;

namespace Orchestrator.Tests.Cluster;

/// <summary>A node writes a run's journal only while it holds the run's lease: a node back from a partition cannot add to it.</summary>
public sealed class JournalFenceTests(PostgresTestDatabase database) : IClassFixture<PostgresTestDatabase>
{
    [Fact]
    public async Task A_node_whose_run_was_taken_over_cannot_write_its_journal_and_the_new_owner_goes_on_with_an_intact_chain()
    {
        var store = database.NewStore();
        await using var data = NpgsqlDataSource.Create(store);
        await using var first = PostgresJournal.Open(store);
        await using var second = PostgresJournal.Open(store);
        await ClusterSchema.EnsureAsync(data, CancellationToken.None);
        var firstLeases = new RunLeases(data, "n1", TimeSpan.FromMinutes(1));
        var secondLeases = new RunLeases(data, "n2", TimeSpan.FromMinutes(1));
        first.FenceWith(firstLeases.Held);
        second.FenceWith(secondLeases.Held);

        firstLeases.TakeNew("r1");
        await first.StartRunAsync(Run("r1"), default);
        await first.AppendAsync(Entry("r1", 1, "a", StepEvent.Started), default);
        await first.AppendAsync(Entry("r1", 2, "a", StepEvent.Succeeded), default);

        // n1 is declared dead (it was only cut off); n2 takes the run over.
        (await secondLeases.TryClaimAsync("r1", ["n1"], default)).Should().BeTrue();

        // Back from the partition, n1 goes on writing before it has heard: every write is refused, its end as well.
        var append = async () => await first.AppendAsync(Entry("r1", 3, "b", StepEvent.Started), default);
        (await append.Should().ThrowAsync<RunNotHeldException>()).Which.Message.Should().Contain("run r1 is driven by another node");
        var end = async () => await first.EndRunAsync("r1", RunStatus.Cancelled, null, "the run was cancelled", T0.AddSeconds(9), default);
        await end.Should().ThrowAsync<RunNotHeldException>();
        var report = async () => await first.SetReportAsync("r1", "/tmp/r1.html", null, default);
        await report.Should().ThrowAsync<RunNotHeldException>();

        // n2 resumes from what is journaled, and its writes land.
        await second.ReopenRunAsync("r1", default);
        await second.AppendAsync(Entry("r1", 3, "b", StepEvent.Started), default);
        await second.AppendAsync(Entry("r1", 4, "b", StepEvent.Succeeded), default);
        await second.EndRunAsync("r1", RunStatus.Succeeded, null, null, T0.AddSeconds(10), default);

        var run = (await second.GetRunAsync("r1", default))!;
        run.Status.Should().Be(RunStatus.Succeeded);
        (await second.GetEntriesAsync("r1", default)).Select(e => (e.Seq, e.StepId, e.Event))
            .Should().Equal((1, "a", StepEvent.Started), (2, "a", StepEvent.Succeeded), (3, "b", StepEvent.Started), (4, "b", StepEvent.Succeeded));
        using var verifier = second.OpenVerifier();
        verifier.Verify("r1", default)!.Intact.Should().BeTrue("the refused writes never reached the chain");

        // A new run needs no lease to be recorded; its steps do.
        await first.StartRunAsync(Run("r2"), default);
        var unleased = async () => await first.AppendAsync(Entry("r2", 1, "a", StepEvent.Started), default);
        await unleased.Should().ThrowAsync<RunNotHeldException>();
    }
}
