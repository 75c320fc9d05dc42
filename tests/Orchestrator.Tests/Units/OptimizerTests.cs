using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Health;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Learning;
using Orchestrator.Core.Optimization;
using Orchestrator.Core.Strategies;
using Orchestrator.Core.Workflow;
using Orchestrator.Tests.Strategies;
using Serilog.Core;

namespace Orchestrator.Tests.Units;

/// <summary>The optimization loop alone, over a run's metrics and phases: what it applies, what it queues, and its bounds.</summary>
public sealed class OptimizerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 6, 0, 0, TimeSpan.Zero));
    private readonly InMemoryJournal _journal = new();

    private WorkflowRun Run(params Orchestrator.Abstractions.IAgent[] agents) =>
        new("run-1", null, _journal, new AgentRegistry(agents), null, _time, Logger.None, CancellationToken.None) { Health = new AgentHealthBook(_time) };

    /// <summary>Counts <paramref name="calls"/> finished calls of <paramref name="agent"/>, <paramref name="failed"/> of them failed.</summary>
    private void Calls(WorkflowRun run, string agent, int calls, int failed)
    {
        for (var i = 0; i < calls; i++)
        {
            var started = _time.GetTimestamp();
            run.Metrics.Observe(new JournalEntry("run-1", i, "s" + i, StepEvent.Started, null, "s", "work", agent, 1, null, null, _time.GetUtcNow()), started);
            run.Metrics.Observe(new JournalEntry("run-1", i, "s" + i, i < failed ? StepEvent.Failed : StepEvent.Succeeded, null, "s", "work", agent, 1, null, null, _time.GetUtcNow()), started);
        }
    }

    [Fact]
    public async Task A_saturated_healthy_phase_with_work_waiting_gets_more_concurrency_applied_at_once()
    {
        var run = Run(new ClockAgent("worker", _time, TimeSpan.FromSeconds(1)));
        var phase = new PhaseRuntime("p", "p", new PhaseStrategy { Name = "fan", Mode = CoordinationMode.Parallel, Concurrency = 2, Agent = "worker" }, items: 20);
        run.Phases[phase.Id] = phase;
        await phase.Limit.WaitAsync(CancellationToken.None);
        await phase.Limit.WaitAsync(CancellationToken.None);
        Calls(run, "worker", 10, failed: 0);

        await new Optimizer(run).TickAsync(CancellationToken.None);

        phase.Limit.Limit.Should().Be(4);
        var applied = (await _journal.Learning.ListRecommendationsAsync(CancellationToken.None)).Should().ContainSingle().Subject;
        applied.Kind.Should().Be("raise-concurrency");
        applied.Status.Should().Be(RecommendationStatus.Applied);
    }

    [Fact]
    public async Task Timeouts_raise_the_timeout_tick_after_tick_but_never_past_four_times_the_declared_one()
    {
        var run = Run(new ClockAgent("worker", _time, TimeSpan.FromSeconds(1)));
        var phase = new PhaseRuntime("p", "p", new PhaseStrategy { Name = "slow", Agent = "worker", Timeout = TimeSpan.FromSeconds(1) }, items: 100);
        run.Phases[phase.Id] = phase;
        var optimizer = new Optimizer(run);

        for (var tick = 0; tick < 5; tick++)
        {
            phase.Finished(timedOut: true);
            await optimizer.TickAsync(CancellationToken.None);
        }

        phase.Strategy.Timeout.Should().Be(TimeSpan.FromSeconds(4));
        (await _journal.Learning.ListRecommendationsAsync(CancellationToken.None)).Select(r => r.Change["timeoutMs"]!.GetValue<double>())
            .Should().Equal(2000, 4000);
    }

    [Fact]
    public async Task A_failing_agent_with_an_alternative_is_queued_for_review_once_and_not_applied()
    {
        var run = Run(new ClockAgent("flaky", _time, TimeSpan.FromSeconds(1), "summarize"), new ClockAgent("solid", _time, TimeSpan.FromSeconds(1), "summarize"));
        var phase = new PhaseRuntime("p", "p", new PhaseStrategy { Name = "main", Agent = "flaky" }, items: 10);
        run.Phases[phase.Id] = phase;
        var optimizer = new Optimizer(run);

        Calls(run, "flaky", 4, failed: 3);
        await optimizer.TickAsync(CancellationToken.None);
        Calls(run, "flaky", 4, failed: 4);
        await optimizer.TickAsync(CancellationToken.None);

        var queued = (await _journal.Learning.ListRecommendationsAsync(CancellationToken.None)).Should().ContainSingle().Subject;
        queued.Kind.Should().Be("swap-agent");
        queued.Status.Should().Be(RecommendationStatus.Pending);
        queued.Change.ToJsonString().Should().Be("""{"agent":"solid"}""");
        phase.Strategy.Agent.Should().Be("flaky", "a risky change waits for a person");
    }

    [Fact]
    public async Task A_healthy_phase_with_nothing_waiting_is_left_alone()
    {
        var run = Run(new ClockAgent("worker", _time, TimeSpan.FromSeconds(1)));
        var phase = new PhaseRuntime("p", "p", new PhaseStrategy { Name = "fan", Mode = CoordinationMode.Parallel, Concurrency = 4, Agent = "worker" }, items: 2);
        run.Phases[phase.Id] = phase;
        Calls(run, "worker", 2, failed: 0);

        await new Optimizer(run).TickAsync(CancellationToken.None);

        phase.Limit.Limit.Should().Be(4);
        (await _journal.Learning.ListRecommendationsAsync(CancellationToken.None)).Should().BeEmpty();
    }
}
