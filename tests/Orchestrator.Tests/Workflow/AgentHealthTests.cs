using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Abstractions;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Plugins;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.Workflow;

/// <summary>Agents of one kind from several plugins are replicas; each has a circuit breaker fed by its results.</summary>
public sealed class AgentHealthTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ReplicaAgent _primary = new("primary", fails: true);
    private readonly ReplicaAgent _replica = new("replica", fails: false);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Without_redistribution_a_failing_agent_fails_the_run()
    {
        var harness = new EngineHarness(TimeProvider.System, null, [_primary, _replica], []);

        var (outcome, _) = await harness.RunCsxAsync(_dir.Write("plain.csx", "return await Agent(\"llm\").RunAsync(\"q\");"));

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        _replica.Calls.Should().Be(0);
    }

    [Fact]
    public async Task The_standard_redistribute_strategy_moves_the_step_to_a_healthy_replica()
    {
        using var plugins = PluginHost.Load([PluginHost.DefaultDirectory], Logger.None);
        var redistribute = plugins.FindStrategy("redistribute")!;
        var harness = new EngineHarness(TimeProvider.System, null, [_primary, _replica], [redistribute]);

        var (outcome, steps) = await harness.RunCsxAsync(_dir.Write("moved.csx", "return await Agent(\"llm\").RunAsync(\"q\", recovery: Recovery(\"redistribute\"));"));

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.GetValue<string>().Should().Be("replica answered q");
        steps.Select(s => (s.Id, s.Status)).Should().Equal(
            ("llm", RunStatus.Succeeded),
            ("llm/redistribute", RunStatus.Succeeded),
            ("llm/redistribute/llm#2", RunStatus.Succeeded));
    }

    [Fact]
    public async Task An_agent_that_keeps_failing_is_taken_out_of_rotation_until_its_break_is_over()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero));
        var harness = new EngineHarness(time, null, [_primary, _replica], []);
        var script = _dir.Write("calls.csx", """
            var answers = new List<string>();
            for (var i = 0; i < 5; i++)
            {
                try { answers.Add((await Agent("llm").RunAsync("q" + i))!.GetValue<string>()); }
                catch (StepFailedException) { answers.Add("failed"); }
            }
            return answers;
            """);

        var (first, _) = await harness.RunCsxAsync(script);
        time.Advance(TimeSpan.FromSeconds(31));
        _primary.Fails = false;
        var (afterBreak, _) = await harness.RunCsxAsync(script);

        // Three failures open the primary's circuit; later calls go straight to the replica.
        first.Run.Result!.AsArray().Select(n => n!.GetValue<string>()).Should().Equal("failed", "failed", "failed", "replica answered q3", "replica answered q4");
        // After the break the primary is tried again, and a success closes its circuit.
        afterBreak.Run.Result!.AsArray().Select(n => n!.GetValue<string>()).Should().OnlyContain(a => a.StartsWith("primary answered", StringComparison.Ordinal));
    }

    private sealed class ReplicaAgent(string name, bool fails) : IAgent
    {
        private int _calls;

        public string Kind => "llm";

        public bool Fails { get; set; } = fails;

        public int Calls => _calls;

        public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return ValueTask.FromResult(Fails
                ? AgentResult.Fail($"{name} is overloaded")
                : AgentResult.Ok(System.Text.Json.Nodes.JsonValue.Create($"{name} answered {task.Input}")));
        }
    }
}
