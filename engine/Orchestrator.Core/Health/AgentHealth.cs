using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
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

    public AgentCircuit For(string agentId) =>
        _circuits.TryGetValue(agentId, out var circuit) ? circuit : _circuits.GetOrAdd(agentId, id => new AgentCircuit(id, time, _options));

    public AgentHealthState StateOf(string agentId) => _circuits.TryGetValue(agentId, out var circuit) ? circuit.State : AgentHealthState.Healthy;
}

/// <summary>One agent's circuit: its calls go through it, and its recent results decide whether it is called at all.</summary>
internal sealed class AgentCircuit
{
    /// <summary>How a call that threw counts for the circuit: as a failure, like a failed result.</summary>
    private static readonly AgentResult Threw = AgentResult.Fail("the agent threw");

    private readonly CircuitBreakerManualControl _control = new();
    private readonly ResiliencePipeline<AgentResult> _pipeline;
    private readonly TimeProvider _time;
    private readonly TimeSpan _break;
    private long _openedAt;
    private long _successes;
    private long _failures;

    // Kept from Polly's own transition callbacks, so that reading it on every call takes no lock.
    private volatile CircuitState _state = CircuitState.Closed;

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
                ManualControl = _control,
                OnOpened = args =>
                {
                    Interlocked.Exchange(ref _openedAt, time.GetTimestamp());
                    _state = args.IsManual ? CircuitState.Isolated : CircuitState.Open;
                    return ValueTask.CompletedTask;
                },
                OnHalfOpened = _ =>
                {
                    _state = CircuitState.HalfOpen;
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    _state = CircuitState.Closed;
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

    public AgentHealthState State => _state switch
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
    public ValueTask<AgentResult> ExecuteAsync<TState>(Func<TState, CancellationToken, ValueTask<AgentResult>> call, TState state, CancellationToken cancellationToken) =>
        _state == CircuitState.Closed ? ExecuteClosedAsync(call, state, cancellationToken) : ExecuteGuardedAsync(call, state, cancellationToken);

    /// <summary>
    /// The common case, a closed circuit: the call runs on its own and Polly is told its outcome afterwards, synchronously.
    /// Running every call inside the pipeline cost several async frames per step; the circuit's decisions are the same,
    /// since a closed circuit lets every call through and only counts outcomes.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<AgentResult> ExecuteClosedAsync<TState>(Func<TState, CancellationToken, ValueTask<AgentResult>> call, TState state, CancellationToken cancellationToken)
    {
        AgentResult result;
        try
        {
            result = await call(state, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Interlocked.Increment(ref _failures);
            Count(Threw);
            throw;
        }

        Interlocked.Increment(ref result.Success ? ref _successes : ref _failures);
        Count(result);
        return result;
    }

    /// <summary>Tells the circuit an outcome by running it through the pipeline, which completes at once.</summary>
    private void Count(AgentResult outcome)
    {
        try
        {
            _pipeline.Execute(static r => r, outcome);
        }
        catch (BrokenCircuitException)
        {
            // The circuit opened while the call ran; an outcome then counts for nothing, as with any call in flight.
        }
    }

    /// <summary>An open or half-open circuit: Polly decides whether the call runs at all (fail fast, or the one trial call).</summary>
    private async ValueTask<AgentResult> ExecuteGuardedAsync<TState>(Func<TState, CancellationToken, ValueTask<AgentResult>> call, TState state, CancellationToken cancellationToken)
    {
        try
        {
            var result = await _pipeline.ExecuteAsync(static (s, ct) => s.call(s.state, ct), (call, state), cancellationToken).ConfigureAwait(false);
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
