using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace Orchestrator.Tests.MasterWorker;

/// <summary>
/// A master agent. Asked to split (<c>{ phase: "split", task: { items } }</c>) it returns <c>{ subtasks: items }</c>;
/// asked to integrate (<c>{ phase: "integrate", results }</c>) it returns <c>{ sum, count }</c> of the numeric results.
/// </summary>
internal sealed class PlannerAgent : IAgent
{
    public ConcurrentDictionary<string, int> Calls { get; } = new();

    public string Kind => "planner";

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var phase = task.Input?["phase"]?.GetValue<string>() ?? "?";
        Calls.AddOrUpdate(phase, 1, (_, n) => n + 1);
        return ValueTask.FromResult(phase switch
        {
            "split" => AgentResult.Ok(new JsonObject { ["subtasks"] = task.Input!["task"]!["items"]!.DeepClone() }),
            "integrate" => AgentResult.Ok(new JsonObject
            {
                ["sum"] = task.Input!["results"]!.AsArray().Sum(r => r!.GetValue<int>()),
                ["count"] = task.Input!["results"]!.AsArray().Count,
            }),
            _ => AgentResult.Fail($"unknown phase '{phase}'"),
        });
    }
}

/// <summary>
/// A worker: squares a number. <c>{ n, fail: true }</c> always fails; <c>{ n, failOnce: true }</c> fails its first call
/// per step and then squares. Counts calls per step id.
/// </summary>
internal sealed class SquareAgent : IAgent
{
    public ConcurrentDictionary<string, int> Calls { get; } = new();

    public string Kind => "square";

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var call = Calls.AddOrUpdate(task.StepId, 1, (_, n) => n + 1);
        var n = task.Input is JsonObject o ? o["n"]!.GetValue<int>() : task.Input!.GetValue<int>();
        if (task.Input is JsonObject { } failing && (failing["fail"] is not null || failing["failOnce"] is not null && call == 1))
        {
            return ValueTask.FromResult(AgentResult.Fail($"cannot square {n} (call {call})"));
        }

        return ValueTask.FromResult(AgentResult.Ok(JsonValue.Create(n * n)));
    }
}

/// <summary>
/// Proves how many calls run at once without timing: calls are let through in waves of <c>width</c>, each call
/// waiting until its whole wave has arrived, so a wave completes only if <c>width</c> calls really overlap.
/// <see cref="MaxInFlight"/> is the most calls that were ever inside the agent together. Returns its input.
/// </summary>
internal sealed class WaveAgent(int width) : IAgent
{
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _waves = new();
    private int _inFlight;
    private int _max;
    private int _arrivals;

    public string Kind => "wave";

    public int MaxInFlight => Volatile.Read(ref _max);

    public async ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var now = Interlocked.Increment(ref _inFlight);
        for (var seen = Volatile.Read(ref _max); now > seen; seen = Volatile.Read(ref _max))
        {
            Interlocked.CompareExchange(ref _max, now, seen);
        }

        try
        {
            var arrival = Interlocked.Increment(ref _arrivals) - 1;
            var wave = _waves.GetOrAdd(arrival / width, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            if (arrival % width == width - 1)
            {
                wave.TrySetResult();
            }

            try
            {
                // Only a safety net for a broken engine: a wave that never fills means the calls did not overlap.
                await wave.Task.WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);
            }
            catch (TimeoutException)
            {
                return AgentResult.Fail($"wave {arrival / width} never filled: fewer than {width} calls ran at once");
            }

            return AgentResult.Ok(task.Input?.DeepClone());
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}

/// <summary>A recovery strategy that runs the failed task once more on the same kind, as the next attempt.</summary>
internal sealed class AgainStrategy : IRecoveryStrategy
{
    public string Name => "again";

    public async ValueTask<AgentResult?> TryRecoverAsync(RecoveryContext context, CancellationToken cancellationToken) =>
        await context.RunAgent(context.AgentKind, context.Task with { Attempt = context.Task.Attempt + 1 }, cancellationToken);
}
