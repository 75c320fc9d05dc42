using Microsoft.Data.Sqlite;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;
using static Orchestrator.Tests.Journal.JournalTestData;

namespace Orchestrator.Tests.Journal;

public sealed class RunLivenessTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public void A_run_recorded_by_this_process_is_alive()
    {
        var run = Run("mine") with { Host = Environment.MachineName, Pid = Environment.ProcessId };

        RunLiveness.IsAlive(run).Should().BeTrue();
    }

    [Fact]
    public void A_run_recorded_by_another_live_process_on_this_host_is_alive_and_not_interrupted()
    {
        var other = StartLiveProcess();
        try
        {
            var run = Run("theirs") with { Host = Environment.MachineName, Pid = other.Id };

            RunLiveness.IsAlive(run).Should().BeTrue();
            RunLiveness.IsInterrupted(run).Should().BeFalse();
        }
        finally
        {
            Stop(other);
        }
    }

    [Fact]
    public void A_run_whose_process_has_exited_is_not_alive_and_if_running_is_interrupted()
    {
        var run = Run("gone") with { Host = Environment.MachineName, Pid = ExitedProcessId() };

        RunLiveness.IsAlive(run).Should().BeFalse();
        RunLiveness.IsInterrupted(run).Should().BeTrue();
        RunLiveness.IsInterrupted(run with { Status = RunStatus.Failed }).Should().BeFalse("only a run still marked running can be interrupted");
    }

    [Fact]
    public void A_run_another_machine_records_as_running_is_interrupted_on_a_store_of_one_machine_and_not_on_a_shared_one()
    {
        var run = Run("elsewhere") with { Host = "some-other-host", Pid = 4242 };

        RunLiveness.IsInterrupted(run).Should().BeTrue("a SQLite store serves one machine: nothing elsewhere can be running it");
        RunLiveness.IsInterrupted(run, sharedStore: true).Should().BeFalse("on a PostgreSQL store another machine may be running it");
        RunLiveness.IsInterrupted(run with { Host = Environment.MachineName, Pid = ExitedProcessId() }, sharedStore: true).Should().BeTrue("this machine's processes can still be seen");
        RunRetention.Select([run], startedBefore: T0.AddDays(1), keepNewest: null, sharedStore: true).Should().BeEmpty();
        RunRetention.Select([run], startedBefore: T0.AddDays(1), keepNewest: null).Should().ContainSingle();
    }

    [Theory]
    [InlineData("some-other-host", true)]
    [InlineData(null, true)]
    [InlineData(null, false)]
    public void A_run_recorded_on_another_host_or_without_a_host_is_not_alive(string? host, bool withPid)
    {
        var run = Run("elsewhere") with { Host = host, Pid = withPid ? Environment.ProcessId : null };

        RunLiveness.IsAlive(run).Should().BeFalse();
        RunLiveness.IsInterrupted(run).Should().BeTrue();
    }

    [Fact]
    public void Process_ids_that_cannot_be_running_are_not_alive()
    {
        ProcessLiveness.IsAlive(0).Should().BeFalse();
        ProcessLiveness.IsAlive(-1).Should().BeFalse();
        ProcessLiveness.IsAlive(int.MaxValue).Should().BeFalse();
        ProcessLiveness.IsAlive(Environment.ProcessId).Should().BeTrue();
    }

    [Fact]
    public async Task A_running_record_of_this_process_is_interrupted_unless_a_journal_of_this_process_is_running_it()
    {
        var stale = Run("stale") with { Host = Environment.MachineName, Pid = Environment.ProcessId };
        RunLiveness.IsInterrupted(stale).Should().BeTrue("this process is not running it: the pid was reused");

        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            await journal.StartRunAsync(Run("active"), default);
            var active = (await journal.GetRunAsync("active", default))!;
            RunLiveness.IsInterrupted(active).Should().BeFalse("this process started it and has not ended it");

            await journal.StartRunAsync(Run("ended"), default);
            await journal.EndRunAsync("ended", RunStatus.Succeeded, null, null, T0.AddSeconds(1), default);
            await journal.ReopenRunAsync("ended", default);
            RunLiveness.IsInterrupted((await journal.GetRunAsync("ended", default))!).Should().BeFalse("it was reopened here");
        }

        // The journal that ran it closed without ending it: as if the process had crashed.
        await using var reopened = SqliteJournal.Open(_dir.Path);
        RunLiveness.IsInterrupted((await reopened.GetRunAsync("active", default))!).Should().BeTrue();
    }
}
