using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Abstractions;

namespace Orchestrator.Agents.Tests.Recovery;

/// <summary>
/// A fake clock that reports each timer as it is created (its due time) and counts the timers that fired, so that a
/// test can wait for a strategy to start waiting and then release the wait exactly, without any wall-clock delay.
/// </summary>
internal sealed class RecordingTimeProvider : FakeTimeProvider
{
    private readonly Channel<TimeSpan> _created = Channel.CreateUnbounded<TimeSpan>();
    private int _fired;

    /// <summary>How many timers have fired so far.</summary>
    public int Fired => Volatile.Read(ref _fired);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        // Create first, then report: once a test sees the timer, Advance will fire it.
        var timer = base.CreateTimer(
            s =>
            {
                Interlocked.Increment(ref _fired);
                callback(s);
            },
            state,
            dueTime,
            period);
        _created.Writer.TryWrite(dueTime);
        return timer;
    }

    /// <summary>The due time of the next timer created, bounded so that a broken test fails instead of hanging.</summary>
    public Task<TimeSpan> NextTimerAsync() => _created.Reader.ReadAsync().AsTask().WaitAsync(RecoveryHarness.Limit);

    /// <summary>Completes when a timer is there to take, without taking it (so an abandoned wait steals nothing).</summary>
    public Task TimerCreatedAsync() => _created.Reader.WaitToReadAsync().AsTask();

    public bool TryTakeTimer(out TimeSpan dueTime) => _created.Reader.TryRead(out dueTime);

    /// <summary>Whether a timer was created and not yet taken by <see cref="NextTimerAsync"/>.</summary>
    public bool HasUnseenTimer => _created.Reader.TryPeek(out _);
}

internal sealed record AgentCall(string Kind, AgentTask Task);

/// <summary>
/// Stands in for <see cref="RecoveryContext.RunAgent"/>: answers each call from a function of the call number (1-based)
/// and records every call, in order.
/// </summary>
internal sealed class ScriptedAgent(Func<int, AgentTask, AgentResult> respond)
{
    private readonly ConcurrentQueue<AgentCall> _calls = new();
    private readonly Channel<AgentCall> _signals = Channel.CreateUnbounded<AgentCall>();
    private int _count;

    public static ScriptedAgent FailsThenSucceeds(int failures) =>
        new((n, task) => n <= failures
            ? AgentResult.Fail($"boom {n}", JsonValue.Create(n), Severity.Moderate)
            : AgentResult.Ok(JsonValue.Create($"ok on attempt {task.Attempt}")));

    public static ScriptedAgent AlwaysFails() => FailsThenSucceeds(int.MaxValue);

    public IReadOnlyList<AgentCall> Calls => [.. _calls];

    public int CallCount => Volatile.Read(ref _count);

    public IEnumerable<int> Attempts => Calls.Select(c => c.Task.Attempt);

    /// <summary>Runs before each answer, e.g. to cancel a token while the agent runs.</summary>
    public Action<int>? OnCall { get; init; }

    public ValueTask<AgentResult> RunAsync(string kind, AgentTask task, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var n = Interlocked.Increment(ref _count);
        var call = new AgentCall(kind, task);
        _calls.Enqueue(call);
        _signals.Writer.TryWrite(call);
        OnCall?.Invoke(n);
        return ValueTask.FromResult(respond(n, task));
    }

    /// <summary>The next call made, bounded so that a broken test fails instead of hanging.</summary>
    public Task<AgentCall> NextCallAsync() => _signals.Reader.ReadAsync().AsTask().WaitAsync(RecoveryHarness.Limit);
}

internal static class RecoveryHarness
{
    /// <summary>A safety bound on waiting for the strategy's own progress; never a delay under test.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    public const string FailedKind = "flaky";

    public static readonly AgentResult OriginalFailure = AgentResult.Fail("original failure");

    public static RecoveryContext Context(
        Func<string, AgentTask, CancellationToken, ValueTask<AgentResult>> runAgent,
        string? optionsJson,
        TimeProvider? time = null,
        int attempt = 1,
        string inputJson = """{"x":1}""") =>
        new(
            new AgentTask("run-1", "step-1", JsonNode.Parse(inputJson)) { Attempt = attempt },
            FailedKind,
            OriginalFailure,
            optionsJson is null ? null : JsonNode.Parse(optionsJson),
            runAgent)
        {
            Time = time ?? TimeProvider.System,
        };

    public static TimeSpan Ms(double milliseconds) => TimeSpan.FromMilliseconds(milliseconds);

    /// <summary>
    /// Runs a recovery to its end on the fake clock: each time the strategy starts waiting, moves the clock by exactly
    /// the timer's due time. Returns the result and the delays waited, in order.
    /// </summary>
    public static async Task<(AgentResult? Result, List<TimeSpan> Delays)> DriveAsync(ValueTask<AgentResult?> recovery, RecordingTimeProvider time)
    {
        var run = recovery.AsTask();
        var delays = new List<TimeSpan>();
        while (true)
        {
            var first = await Task.WhenAny(run, time.TimerCreatedAsync()).WaitAsync(Limit);
            if (first == run)
            {
                return (await run, delays);
            }

            if (time.TryTakeTimer(out var delay))
            {
                delays.Add(delay);
                time.Advance(delay);
            }
        }
    }
}
