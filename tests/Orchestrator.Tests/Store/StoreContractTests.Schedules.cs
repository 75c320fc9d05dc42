using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Runs;
using Orchestrator.Core.Schedules;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Tests.Support;
using Serilog.Core;
using static Orchestrator.Tests.Journal.JournalTestData;

namespace Orchestrator.Tests.Store;

/// <summary>Schedules on a store that several hosts serve (the nodes of a cluster): each occurrence is claimed by one host.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task A_claim_moves_the_last_occurrence_only_from_the_one_each_host_read_so_one_of_many_claims_wins()
    {
        await using var a = Open();
        await using var b = Open();
        await a.Schedules.AddAsync(new Schedule { Name = "nightly", Script = "/s/n.csx", Cron = "0 3 * * *", CreatedAt = T0 }, default);

        (await a.Schedules.ClaimAsync("nightly", null, T0.AddHours(3), default)).Should().BeTrue("nothing had been dealt with");
        (await b.Schedules.ClaimAsync("nightly", null, T0.AddHours(3), default)).Should().BeFalse("the other host moved it already");
        (await b.Schedules.ClaimAsync("gone", null, T0.AddHours(3), default)).Should().BeFalse("there is no such schedule");

        var next = T0.AddHours(27);
        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            await (i % 2 == 0 ? a : b).Schedules.ClaimAsync("nightly", T0.AddHours(3), next, default))));
        claims.Count(c => c).Should().Be(1, "eight claims of one occurrence from two hosts at once, one wins");

        await b.Schedules.SetRunAsync("nightly", next, "run-2", default);
        await a.Schedules.SetRunAsync("nightly", T0.AddHours(3), "late", default);
        var schedule = (await a.Schedules.ListAsync(default)).Should().ContainSingle().Subject;
        (schedule.LastOccurrence, schedule.LastRunId).Should().Be((next, "run-2"), "a run of an occurrence the schedule has moved past is not recorded");
    }

    [Fact]
    public async Task Two_hosts_on_one_store_start_each_occurrence_of_a_schedule_once()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 2, 59, 30, TimeSpan.Zero));
        var script = Dir.Write("nightly.csx", "return await Step(\"work\", () => 1);\n");
        var race = new Race();
        await using var first = Node(time, race);
        await using var second = Node(time, race);
        (first.Programs.Other, second.Programs.Other) = (second.Scheduler, first.Scheduler);
        await first.Journal.Schedules.AddAsync(new Schedule { Name = "nightly", Script = script, Cron = "* * * * *", CreatedAt = time.GetUtcNow() }, default);
        await first.Scheduler.TickAsync(default);
        await second.Scheduler.TickAsync(default);

        // 03:00, then 03:01: on each the timers of both hosts fire.
        foreach (var (occurrence, advance) in new[] { (1, TimeSpan.FromSeconds(30)), (2, TimeSpan.FromMinutes(1)) })
        {
            race.Next();
            time.Advance(advance);
            await UntilSettledAsync(first, second, occurrence);

            var runs = await first.Journal.ListRunsAsync(default);
            runs.Should().HaveCount(occurrence, "both hosts found occurrence {0} due, and one started it", occurrence);
            runs.Should().OnlyContain(r => r.Status == RunStatus.Succeeded);
            runs.Select(r => r.StartedAt).Order().Should().Equal(Enumerable.Range(0, occurrence).Select(n => new DateTimeOffset(2026, 12, 5, 3, n, 0, TimeSpan.Zero)));
            var schedule = (await second.Journal.Schedules.ListAsync(default)).Single();
            (schedule.LastOccurrence, schedule.LastRunId).Should().Be((time.GetUtcNow(), runs.MaxBy(r => r.StartedAt)!.Id));
        }
    }

    private HostNode Node(TimeProvider time, Race race)
    {
        var journal = Open();
        var programs = new RacingPrograms(race);
        var manager = new RunManager(new WorkflowEngine(journal, new AgentRegistry([new EchoAgent()]), null, time, Logger.None), journal, programs, Logger.None, time);
        return new HostNode(journal, manager, new Scheduler(manager, journal, time, Logger.None), programs);
    }

    /// <summary>Waits until the hosts' ticks (their timers fired on the advance) are done and the runs they started have ended.</summary>
    private static async Task UntilSettledAsync(HostNode first, HostNode second, int expected)
    {
        for (var i = 0; i < 3000; i++)
        {
            await first.Scheduler.TickAsync(default);
            await second.Scheduler.TickAsync(default);
            if (first.Manager.InFlight.Count == 0 && second.Manager.InFlight.Count == 0
                && (await first.Journal.ListRunsAsync(default)).Count(r => r.Status != RunStatus.Running) >= expected)
            {
                return;
            }

            await Task.Delay(10);
        }
    }

    private sealed record HostNode(IStoreJournal Journal, RunManager Manager, Scheduler Scheduler, RacingPrograms Programs) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Scheduler.Dispose();
            await Manager.DisposeAsync();
            await Journal.DisposeAsync();
        }
    }

    /// <summary>
    /// Makes the two hosts race for every occurrence, whatever the timing: a host about to start a run waits until the
    /// other host is about to start one too, or has looked at the schedules since and found nothing to start. Without
    /// the claim both hosts read the same last occurrence and both start a run.
    /// </summary>
    private sealed class Race
    {
        private TaskCompletionSource _both = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _arrived;

        /// <summary>The next occurrence's race.</summary>
        public void Next()
        {
            _both = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _arrived = 0;
        }

        public void Arrive(Scheduler other)
        {
            var both = _both;
            if (Interlocked.Increment(ref _arrived) == 2)
            {
                both.TrySetResult();
            }

            // The other host's tick waits for the one it is in, if any: then it has read the schedules after this host's claim.
            Task.WhenAny(both.Task, other.TickAsync(default)).Unwrap().GetAwaiter().GetResult();
        }
    }

    private sealed class RacingPrograms(Race race) : IProgramSource
    {
        public Scheduler? Other { get; set; }

        public IWorkflowProgram Get(string scriptPath, CancellationToken cancellationToken)
        {
            race.Arrive(Other!);
            return CSharpWorkflow.Compile(scriptPath, Logger.None, cancellationToken);
        }
    }
}
