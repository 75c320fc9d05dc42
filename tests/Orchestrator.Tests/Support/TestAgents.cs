using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace Orchestrator.Tests.Support;

/// <summary>Returns its input as its output.</summary>
internal sealed class EchoAgent : IAgent
{
    public string Kind => "echo";

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AgentResult.Ok(task.Input?.DeepClone()));
}

/// <summary>Always fails, with the input's <c>message</c> as the error.</summary>
internal sealed class FailAgent : IAgent
{
    public string Kind => "fail";

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AgentResult.Fail(task.Input?["message"]?.GetValue<string>() ?? "failed on purpose"));
}

/// <summary>
/// Meets other callers at named gates: a call with <c>{ "signal": a, "wait": b }</c> opens gate a, then waits
/// until someone opens gate b. Two branches that wait for each other finish only if they really overlap.
/// </summary>
internal sealed class GateAgent(TimeSpan? patience = null) : IAgent
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();

    public string Kind => "gate";

    public async ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        if (task.Input?["signal"]?.GetValue<string>() is { } signal)
        {
            Gate(signal).TrySetResult();
        }

        if (task.Input?["wait"]?.GetValue<string>() is { } awaited)
        {
            try
            {
                await Gate(awaited).Task.WaitAsync(patience ?? TimeSpan.FromSeconds(20), cancellationToken);
            }
            catch (TimeoutException)
            {
                return AgentResult.Fail($"gate '{awaited}' never opened: the calls did not overlap");
            }
        }

        return AgentResult.Ok(task.Input?["value"]?.DeepClone());
    }

    private TaskCompletionSource Gate(string name) =>
        _gates.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}

/// <summary>Counts calls per step id, to prove what ran and how often.</summary>
internal sealed class CountingAgent : IAgent
{
    public ConcurrentDictionary<string, int> Calls { get; } = new();

    public string Kind => "count";

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        Calls.AddOrUpdate(task.StepId, 1, (_, n) => n + 1);
        return ValueTask.FromResult(AgentResult.Ok(JsonValue.Create(task.StepId)));
    }
}

/// <summary>Blocks while <see cref="Blocking"/> is set, until cancelled; tells the test when a call has reached it.</summary>
internal sealed class BlockingAgent : IAgent
{
    private TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Kind => "block";

    public bool Blocking { get; set; } = true;

    /// <summary>Completes when a call is blocked inside the agent.</summary>
    public Task Reached => _reached.Task;

    public async ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        if (Blocking)
        {
            _reached.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        return AgentResult.Ok(JsonValue.Create("unblocked"));
    }

    public void Reset() => _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>Fails its first <c>failures</c> calls per step, then succeeds; reports the attempt it succeeded on.</summary>
internal sealed class FlakyAgent(int failures) : IAgent
{
    private readonly ConcurrentDictionary<string, int> _calls = new();

    public string Kind => "flaky";

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var call = _calls.AddOrUpdate(task.StepId, 1, (_, n) => n + 1);
        return ValueTask.FromResult(call <= failures
            ? AgentResult.Fail($"flaky failure {call}")
            : AgentResult.Ok(new JsonObject { ["call"] = call, ["attempt"] = task.Attempt }));
    }
}

/// <summary>Throws instead of reporting a failure, as a buggy plugin might.</summary>
internal sealed class ThrowingAgent : IAgent
{
    public string Kind => "throw";

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("plugin bug");
}

/// <summary>Fails at random, but the same way for the same seed: a reproducible unreliable agent.</summary>
internal sealed class RandomFailureAgent(int seed, double failureRate) : IAgent
{
    private readonly Random _random = new(seed);

    public string Kind => "random";

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        bool fails;
        lock (_random)
        {
            fails = _random.NextDouble() < failureRate;
        }

        return ValueTask.FromResult(fails ? AgentResult.Fail("random failure") : AgentResult.Ok(JsonValue.Create(task.Attempt)));
    }
}

/// <summary>
/// Blocks the calling thread itself (not a task) until <see cref="Release"/>, ignoring its token, as a plugin doing a
/// blocking read would; tells the test when a call has reached it.
/// </summary>
internal sealed class ThreadBlockingAgent : IAgent, IDisposable
{
    private readonly ManualResetEventSlim _release = new();
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Kind => "stuck";

    public Task Reached => _reached.Task;

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        _reached.TrySetResult();
        _release.Wait(CancellationToken.None);
        return ValueTask.FromResult(AgentResult.Ok(JsonValue.Create("released")));
    }

    public void Release() => _release.Set();

    public void Dispose()
    {
        Release();
        _release.Dispose();
    }
}
