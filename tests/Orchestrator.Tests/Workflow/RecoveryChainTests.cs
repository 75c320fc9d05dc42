using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Workflow;

public sealed class RecoveryChainTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Strategies_are_tried_in_order_until_one_rescues_the_step_and_every_attempt_is_journaled()
    {
        var harness = Harness();
        var script = _dir.Write("chain.csx", """
            return await Agent("flaky").RunAsync(null, recovery: Recovery("skip").Then("give-up").Then("again"));
            """);

        var (outcome, steps) = await harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!["call"]!.GetValue<int>().Should().Be(2);
        outcome.Run.Result!["attempt"]!.GetValue<int>().Should().Be(2);
        steps.Select(s => (s.Id, s.Kind, s.Status)).Should().Equal(
            ("flaky", "agent", RunStatus.Succeeded),
            ("flaky/skip", "recovery", RunStatus.Succeeded),
            ("flaky/give-up", "recovery", RunStatus.Failed),
            ("flaky/again", "recovery", RunStatus.Succeeded),
            ("flaky/again/flaky", "attempt", RunStatus.Succeeded));
    }

    [Fact]
    public async Task When_every_strategy_fails_the_run_fails_listing_what_was_tried()
    {
        var harness = Harness(new FlakyAgent(failures: 100));
        var script = _dir.Write("hopeless.csx", """
            SetRecovery(Recovery("skip").Then("give-up").Then("again").Then("missing"));
            await Agent("flaky").RunAsync();
            """);

        var (outcome, _) = await harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Contain("flaky failure 1; recovery failed: skip: not applicable; give-up: gave up; again: flaky failure 2; missing: unknown recovery strategy; known: again, give-up, skip");
    }

    [Fact]
    public async Task A_step_without_a_chain_fails_at_once()
    {
        var harness = Harness();
        var script = _dir.Write("plain.csx", "await Agent(\"flaky\").RunAsync();");

        var (outcome, steps) = await harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        steps.Should().ContainSingle();
    }

    [Fact]
    public async Task An_agent_that_throws_is_a_failed_step_that_recovery_can_rescue()
    {
        var harness = new EngineHarness(TimeProvider.System, null, [new ThrowingAgent(), new EchoAgent()], [new FallbackTo("echo")]);
        var script = _dir.Write("throws.csx", """
            try { await Agent("throw").RunAsync(1); } catch (StepFailedException ex) { Log(ex.Reason); }
            return await Agent("throw").RunAsync(2, recovery: Recovery("to-echo"));
            """);

        var (outcome, steps) = await harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.GetValue<int>().Should().Be(2);
        steps[0].Error.Should().Be("agent 'throw' threw InvalidOperationException: plugin bug");
    }

    [Fact]
    public async Task Retrying_a_randomly_failing_agent_is_reproducible_for_a_seed()
    {
        async Task<string> RunOnceAsync()
        {
            // On the wall clock an open circuit would make the outcome depend on timing (a recovery attempt waits for its
            // trial call): this test is about the seed, so the circuit never opens.
            var neverOpens = new Orchestrator.Core.Health.AgentHealthBook(TimeProvider.System, new Orchestrator.Core.Health.CircuitOptions { MinimumThroughput = int.MaxValue });
            var harness = new EngineHarness(TimeProvider.System, null, [new RandomFailureAgent(seed: 7, failureRate: 0.5)], [new AgainStrategy()], neverOpens);
            var script = _dir.Write($"random-{Guid.NewGuid():N}.csx", """
                var attempts = new List<string>();
                for (var i = 0; i < 10; i++)
                {
                    try { attempts.Add((await Agent("random").RunAsync(i, recovery: Recovery("again").Then("again").Then("again")))!.ToJsonString()); }
                    catch (StepFailedException) { attempts.Add("failed"); }
                }
                return attempts;
                """);
            var (outcome, _) = await harness.RunCsxAsync(script);
            return outcome.Run.Result!.ToJsonString();
        }

        var first = await RunOnceAsync();
        var second = await RunOnceAsync();

        second.Should().Be(first);
        first.Should().Contain("2", "some steps were rescued by a second attempt");
    }

    private static EngineHarness Harness(IAgent? flaky = null) =>
        new(TimeProvider.System, null, [flaky ?? new FlakyAgent(failures: 1)], [new SkipStrategy(), new GiveUpStrategy(), new AgainStrategy()]);

    private sealed class SkipStrategy : IRecoveryStrategy
    {
        public string Name => "skip";

        public ValueTask<AgentResult?> TryRecoverAsync(RecoveryContext context, CancellationToken cancellationToken) => ValueTask.FromResult<AgentResult?>(null);
    }

    private sealed class GiveUpStrategy : IRecoveryStrategy
    {
        public string Name => "give-up";

        public ValueTask<AgentResult?> TryRecoverAsync(RecoveryContext context, CancellationToken cancellationToken) =>
            ValueTask.FromResult<AgentResult?>(AgentResult.Fail("gave up"));
    }

    private sealed class FallbackTo(string kind) : IRecoveryStrategy
    {
        public string Name => "to-" + kind;

        public async ValueTask<AgentResult?> TryRecoverAsync(RecoveryContext context, CancellationToken cancellationToken) =>
            await context.RunAgent(kind, context.Task, cancellationToken);
    }

    private sealed class AgainStrategy : IRecoveryStrategy
    {
        public string Name => "again";

        public async ValueTask<AgentResult?> TryRecoverAsync(RecoveryContext context, CancellationToken cancellationToken) =>
            await context.RunAgent(context.AgentKind, context.Task with { Attempt = context.Task.Attempt + 1 }, cancellationToken);
    }
}
