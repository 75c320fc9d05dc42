using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Abstractions;

namespace Orchestrator.Tests.Strategies;

/// <summary>
/// An agent whose latency is fake time: each call advances the test's clock by its latency, so durations, the
/// monitor's ticks and the optimization loop are exact. It can fail, slow down after some calls, and records the
/// messages it receives on its channel and the most calls it saw at once.
/// </summary>
internal sealed class ClockAgent(string kind, FakeTimeProvider time, TimeSpan latency, params string[] capabilities) : IAgent
{
    private int _calls;
    private int _running;
    private int _peak;

    public string Kind { get; } = kind;

    public IReadOnlyCollection<string> Capabilities { get; } = capabilities;

    public int MaxConcurrency { get; init; }

    /// <summary>From this call on (1-based), each call takes <see cref="SlowLatency"/>.</summary>
    public int SlowFromCall { get; init; } = int.MaxValue;

    /// <summary>Calls up to this one (1-based) take <see cref="SlowLatency"/>; with <see cref="SlowFromCall"/> a spike.</summary>
    public int SlowUntilCall { get; init; } = int.MaxValue;

    public TimeSpan SlowLatency { get; init; }

    public bool Fails { get; init; }

    /// <summary>This call (1-based) fails; the ones before and after it succeed.</summary>
    public int FailOnCall { get; init; }

    /// <summary>A real pause inside each call, so that concurrent calls overlap and <see cref="Peak"/> shows how many were let in.</summary>
    public TimeSpan Hold { get; init; }

    public int Calls => Volatile.Read(ref _calls);

    public int Peak => Volatile.Read(ref _peak);

    public ConcurrentQueue<AgentMessage> Messages { get; } = new();

    /// <summary>Completes when the first call comes in.</summary>
    public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var call = Interlocked.Increment(ref _calls);
        Called.TrySetResult();
        var now = Interlocked.Increment(ref _running);
        int peak;
        while (now > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak)
        {
        }

        try
        {
            if (Hold > TimeSpan.Zero)
            {
                await Task.Delay(Hold, cancellationToken);
            }

            time.Advance(call >= SlowFromCall && call <= SlowUntilCall ? SlowLatency : latency);
            return Fails || call == FailOnCall
                ? AgentResult.Fail($"{Kind} failed on call {call}")
                : AgentResult.Ok(new JsonObject { ["by"] = Kind, ["input"] = task.Input?.DeepClone() });
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    public ValueTask OnMessageAsync(AgentMessage message, CancellationToken cancellationToken)
    {
        Messages.Enqueue(message);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A peer for peer-to-peer phases: proposes a plan for the item, votes for the peer named <c>a</c>, and contributes its part.</summary>
internal sealed class CouncilAgent(string kind) : IAgent
{
    public string Kind { get; } = kind;

    public IReadOnlyCollection<string> Capabilities { get; } = ["review"];

    public ConcurrentQueue<AgentMessage> Messages { get; } = new();

    public ValueTask OnMessageAsync(AgentMessage message, CancellationToken cancellationToken)
    {
        Messages.Enqueue(message);
        return ValueTask.CompletedTask;
    }

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var input = task.Input!;
        JsonNode? answer = input["phase"]!.GetValue<string>() switch
        {
            "propose" => $"check item {input["task"]!.ToJsonString()} the {Kind} way",
            "vote" => "a",
            _ => $"{Kind} did: {input["plan"]!.GetValue<string>()}",
        };
        return ValueTask.FromResult(AgentResult.Ok(answer));
    }
}
