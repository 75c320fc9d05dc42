using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Health;

namespace Orchestrator.Tests.Health;

/// <summary>The circuit breaker's rules, on a fake clock: ratio and throughput in the window, the break, one trial call, isolation.</summary>
public sealed class AgentCircuitTests
{
    private static readonly CircuitOptions Options = new()
    {
        FailureRatio = 0.5,
        MinimumThroughput = 4,
        SamplingDuration = TimeSpan.FromSeconds(10),
        BreakDuration = TimeSpan.FromSeconds(30),
    };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Failures_below_the_minimum_throughput_leave_the_circuit_closed()
    {
        var circuit = NewCircuit();

        Call(circuit, CallOutcome.Failed, times: 3);

        circuit.State.Should().Be(AgentHealthState.Healthy);
        circuit.Enter().Allowed.Should().BeTrue();
    }

    [Fact]
    public void Half_the_calls_in_the_window_failing_opens_the_circuit_and_calls_fail_fast()
    {
        var circuit = NewCircuit();

        Call(circuit, CallOutcome.Succeeded, times: 2);
        Call(circuit, CallOutcome.Failed, times: 2);

        circuit.State.Should().Be(AgentHealthState.Unhealthy);
        circuit.Enter().Allowed.Should().BeFalse();
        circuit.Failures.Should().Be(2);
        circuit.Successes.Should().Be(2);
    }

    [Fact]
    public void Mostly_successful_calls_keep_the_circuit_closed()
    {
        var circuit = NewCircuit();

        Call(circuit, CallOutcome.Succeeded, times: 7);
        Call(circuit, CallOutcome.Failed, times: 3);

        circuit.State.Should().Be(AgentHealthState.Healthy);
    }

    [Fact]
    public void Outcomes_older_than_the_sampling_window_no_longer_count()
    {
        var circuit = NewCircuit();
        Call(circuit, CallOutcome.Succeeded, times: 100);

        _time.Advance(TimeSpan.FromSeconds(11));
        Call(circuit, CallOutcome.Failed, times: 4);

        circuit.State.Should().Be(AgentHealthState.Unhealthy, "the hundred successes are out of the window");
    }

    [Fact]
    public void After_the_break_exactly_one_trial_call_goes_through_and_its_success_closes_the_circuit()
    {
        var circuit = OpenCircuit();

        _time.Advance(TimeSpan.FromSeconds(30));
        circuit.State.Should().Be(AgentHealthState.Recovering);
        var trial = circuit.Enter();
        var concurrent = circuit.Enter();

        trial.Should().Be(new AgentCircuit.Permit(Allowed: true, Trial: true));
        concurrent.Allowed.Should().BeFalse("only one trial call at a time");
        circuit.State.Should().Be(AgentHealthState.Recovering);

        circuit.Exit(trial, CallOutcome.Succeeded);

        circuit.State.Should().Be(AgentHealthState.Healthy);
        Call(circuit, CallOutcome.Failed, times: 3);
        circuit.State.Should().Be(AgentHealthState.Healthy, "a closed circuit counts afresh: the failures that opened it are forgotten");
    }

    [Fact]
    public void A_failed_trial_call_opens_the_circuit_for_another_break()
    {
        var circuit = OpenCircuit();
        _time.Advance(TimeSpan.FromSeconds(30));

        circuit.Exit(circuit.Enter(), CallOutcome.Failed);

        circuit.State.Should().Be(AgentHealthState.Unhealthy);
        _time.Advance(TimeSpan.FromSeconds(29));
        circuit.Enter().Allowed.Should().BeFalse();
        _time.Advance(TimeSpan.FromSeconds(1));
        circuit.Enter().Should().Be(new AgentCircuit.Permit(Allowed: true, Trial: true));
    }

    [Fact]
    public void A_cancelled_trial_call_lets_the_next_caller_try()
    {
        var circuit = OpenCircuit();
        _time.Advance(TimeSpan.FromSeconds(30));

        circuit.Exit(circuit.Enter(), CallOutcome.Cancelled);

        circuit.Enter().Should().Be(new AgentCircuit.Permit(Allowed: true, Trial: true));
    }

    [Fact]
    public async Task An_isolated_circuit_fails_calls_fast_until_its_break_is_over_and_then_closes()
    {
        var circuit = NewCircuit();

        await circuit.IsolateAsync(CancellationToken.None);

        circuit.State.Should().Be(AgentHealthState.Unhealthy);
        circuit.Enter().Allowed.Should().BeFalse();
        _time.Advance(TimeSpan.FromSeconds(30));
        circuit.State.Should().Be(AgentHealthState.Healthy);
        circuit.Enter().Should().Be(new AgentCircuit.Permit(Allowed: true, Trial: false));
    }

    [Fact]
    public async Task Concurrent_successes_are_all_counted()
    {
        var circuit = NewCircuit();

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                circuit.Exit(circuit.Enter(), CallOutcome.Succeeded);
            }
        })));

        circuit.Successes.Should().Be(40_000);
        circuit.State.Should().Be(AgentHealthState.Healthy);
    }

    private AgentCircuit NewCircuit() => new("agent", _time, Options);

    private AgentCircuit OpenCircuit()
    {
        var circuit = NewCircuit();
        Call(circuit, CallOutcome.Failed, times: 4);
        circuit.State.Should().Be(AgentHealthState.Unhealthy);
        return circuit;
    }

    private static void Call(AgentCircuit circuit, CallOutcome outcome, int times)
    {
        for (var i = 0; i < times; i++)
        {
            var permit = circuit.Enter();
            permit.Allowed.Should().BeTrue();
            circuit.Exit(permit, outcome);
        }
    }
}
