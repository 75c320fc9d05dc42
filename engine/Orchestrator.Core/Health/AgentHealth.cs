using System.Collections.Concurrent;
using Orchestrator.Abstractions;
using Polly;
using Polly.CircuitBreaker;

namespace Orchestrator.Core.Health;

/// <summary>How an agent has been doing lately, as its circuit breaker sees it.</summary>
public enum AgentHealthState
{
    /// <summary>Circuit closed: calls go through.</summary>
    Healthy,

    /// <summary>Circuit half-open: one trial call decides.</summary>
    Recovering,

    /// <summary>Circuit open: calls fail fast until the break is over.</summary>
    Unhealthy,
}

/// <summary>When an agent's circuit opens and for how long.</summary>
internal sealed record CircuitOptions
{
    public static CircuitOptions Default { get; } = new();

    /// <summary>The share of failed calls in the sampling window that opens the circuit.</summary>
    public double FailureRatio { get; init; } = 0.5;

    /// <summary>Calls needed in the window before the ratio counts.</summary>
    public int MinimumThroughput { get; init; } = 3;

    public TimeSpan SamplingDuration { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan BreakDuration { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>The health of every agent the host has called, one circuit breaker (Polly) per agent.</summary>
internal sealed class AgentHealthBook(TimeProvider time, CircuitOptions? options = null)
{
    private readonly ConcurrentDictionary<string, AgentCircuit> _circuits = new(StringComparer.OrdinalIgnoreCase);
    private readonly CircuitOptions _options = options ?? CircuitOptions.Default;

    public AgentCircuit For(string agentId) => _circuits.GetOrAdd(agentId, id => new AgentCircuit(id, time, _options));

    public AgentHealthState StateOf(string agentId) => _circuits.TryGetValue(agentId, out var circuit) ? circuit.State : AgentHealthState.Healthy;
}

/// <summary>One agent's circuit: its calls go through it, and its recent results decide whether it is called at all.</summary>
internal sealed class AgentCircuit
{
    private readonly CircuitBreakerStateProvider _state = new();
    private readonly CircuitBreakerManualControl _control = new();
    private readonly ResiliencePipeline<AgentResult> _pipeline;
    private readonly TimeProvider _time;
    private readonly TimeSpan _break;
    private long _openedAt;
    private long _successes;
    private long _failures;

    public AgentCircuit(string id, TimeProvider time, CircuitOptions options)
    {
        Id = id;
        _time = time;
        _break = options.BreakDuration;
        _pipeline = new ResiliencePipelineBuilder<AgentResult> { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<AgentResult>
            {
                FailureRatio = options.FailureRatio,
                MinimumThroughput = options.MinimumThroughput,
                SamplingDuration = options.SamplingDuration,
                BreakDuration = options.BreakDuration,
                StateProvider = _state,
                ManualControl = _control,
                OnOpened = _ =>
                {
                    Interlocked.Exchange(ref _openedAt, time.GetTimestamp());
                    return ValueTask.CompletedTask;
                },
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: OperationCanceledException } => false,
                    { Exception: not null } => true,
                    { Result.Success: false } => true,
                    _ => false,
                }),
            })
            .Build();
    }

    public string Id { get; }

    public AgentHealthState State => _state.CircuitState switch
    {
        CircuitState.Closed => AgentHealthState.Healthy,
        CircuitState.HalfOpen => AgentHealthState.Recovering,

        // Polly moves to half-open only when a call comes: a break that is over already invites that trial call.
        CircuitState.Open when _time.GetElapsedTime(Interlocked.Read(ref _openedAt)) >= _break => AgentHealthState.Recovering,
        _ => AgentHealthState.Unhealthy,
    };

    /// <summary>
    /// Opens the circuit by hand for one break (the monitor does this when the agent's latency spikes), so that its work
    /// goes to healthy replicas; it closes again after the break.
    /// </summary>
    public async Task IsolateAsync(CancellationToken cancellationToken)
    {
        await _control.IsolateAsync(cancellationToken).ConfigureAwait(false);
        ITimer? timer = null;
        timer = _time.CreateTimer(_ =>
        {
            _ = _control.CloseAsync(CancellationToken.None);
            timer?.Dispose();
        }, null, _break, Timeout.InfiniteTimeSpan);
    }

    public long Successes => Interlocked.Read(ref _successes);

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Runs a call through the circuit; an open circuit fails fast with a result that says so.</summary>
    public async ValueTask<AgentResult> ExecuteAsync(Func<CancellationToken, ValueTask<AgentResult>> call, CancellationToken cancellationToken)
    {
        try
        {
            var result = await _pipeline.ExecuteAsync(static (call, ct) => call(ct), call, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref result.Success ? ref _successes : ref _failures);
            return result;
        }
        catch (BrokenCircuitException)
        {
            return AgentResult.Fail($"agent {Id} is unavailable: its circuit is open after repeated failures");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Interlocked.Increment(ref _failures);
            throw;
        }
    }
}
