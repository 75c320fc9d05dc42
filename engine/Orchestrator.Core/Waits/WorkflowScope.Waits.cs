using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Waits;

namespace Orchestrator.Core.Workflow;

/// <summary>
/// Durable waits: an approval, an event, a timer. Each is a journaled step whose wait is kept in the store
/// (<see cref="IWaitStore"/>). When there is nothing to return yet the run parks (<see cref="RunParkedException"/>): it
/// ends as waiting, holding nothing, and a resume replays it to the step, which then returns what arrived meanwhile.
/// </summary>
public sealed partial class WorkflowScope
{
    /// <summary>
    /// Asks a person to approve <paramref name="name"/>, showing <paramref name="data"/>. Returns the decision
    /// <c>{ name, approved, by, comment, at }</c>; a rejection, or no decision by <see cref="StepOptions.Timeout"/>, is a
    /// failure that goes by severity (<see cref="StepOptions.Severity"/>, <see cref="StepOptions.Fallback"/>) like any other.
    /// </summary>
    public Task<JsonNode?> ApprovalAsync(string name, JsonNode? data, StepOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var timeout = PositiveOrNull(options?.Timeout);
        var input = new JsonObject { ["data"] = data?.DeepClone(), ["timeoutMs"] = timeout?.TotalMilliseconds };
        return RunStepAsync(name, WaitKinds.Approval, null, input, (scope, id, ct) => scope.AwaitApprovalAsync(id, name, data, timeout, options, ct), cancellationToken);
    }

    /// <summary>
    /// Waits for the event <paramref name="name"/> sent to this run (<c>orchestrator signal</c>); returns its data. An event
    /// sent before the wait is kept and taken by the first wait for its name. No event by the timeout fails the step.
    /// </summary>
    public Task<JsonNode?> WaitForEventAsync(string name, StepOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var timeout = PositiveOrNull(options?.Timeout);
        var input = new JsonObject { ["timeoutMs"] = timeout?.TotalMilliseconds };
        return RunStepAsync(name, WaitKinds.Event, null, input, (scope, id, ct) => scope.AwaitEventAsync(id, name, timeout, options, ct), cancellationToken);
    }

    /// <summary>
    /// Sleeps for <paramref name="duration"/>, durably: the due time is kept, so a run resumed after a crash sleeps only
    /// what is left. A sleep longer than <see cref="RunOptions.ParkLongerThan"/> parks the run instead of holding it.
    /// </summary>
    public Task<JsonNode?> SleepAsync(TimeSpan duration, string? name = null, CancellationToken cancellationToken = default)
    {
        if (duration < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), duration, "a sleep cannot be negative");
        }

        var input = new JsonObject { ["durationMs"] = duration.TotalMilliseconds };
        return RunStepAsync(name ?? WaitKinds.Sleep, WaitKinds.Sleep, null, input, (scope, id, ct) => scope.AwaitSleepAsync(id, name ?? WaitKinds.Sleep, duration, ct), cancellationToken);
    }

    private async Task<JsonNode?> AwaitApprovalAsync(string id, string name, JsonNode? data, TimeSpan? timeout, StepOptions? options, CancellationToken ct)
    {
        var wait = await OpenWaitAsync(id, WaitKinds.Approval, name, data, timeout, ct).ConfigureAwait(false);
        if (wait.Decision is { } decision)
        {
            // The decision as a step of its own: journaled once, replayed after, and what the report's approvals show.
            var shown = new JsonObject { ["name"] = name };
            foreach (var (key, value) in decision)
            {
                shown[key] = value?.DeepClone();
            }

            var recorded = await RunStepAsync("decision", "decision", null, null, (_, _, _) => Task.FromResult<JsonNode?>(shown), ct).ConfigureAwait(false);
            await CloseWaitAsync(wait).ConfigureAwait(false);
            if (recorded?["approved"]?.GetValue<bool>() == true)
            {
                return recorded;
            }

            var by = recorded?["by"]?.GetValue<string>();
            var comment = recorded?["comment"]?.GetValue<string>();
            var reason = $"approval '{name}' was rejected" + (by is null ? "" : $" by {by}") + (string.IsNullOrEmpty(comment) ? "" : $": {comment}");
            return await FailWaitAsync(id, reason, "rejected", recorded, options).ConfigureAwait(false);
        }

        return await TimeOutOrParkAsync(id, wait, options).ConfigureAwait(false);
    }

    private async Task<JsonNode?> AwaitEventAsync(string id, string name, TimeSpan? timeout, StepOptions? options, CancellationToken ct)
    {
        var wait = await OpenWaitAsync(id, WaitKinds.Event, name, null, timeout, ct).ConfigureAwait(false);
        if (await _run.Journal.Waits.ConsumeAsync(_run.Id, name, id, _run.Time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false) is { } signal)
        {
            await CloseWaitAsync(wait).ConfigureAwait(false);
            return signal.Data;
        }

        return await TimeOutOrParkAsync(id, wait, options).ConfigureAwait(false);
    }

    private async Task<JsonNode?> AwaitSleepAsync(string id, string name, TimeSpan duration, CancellationToken ct)
    {
        var wait = await OpenWaitAsync(id, WaitKinds.Sleep, name, null, duration, ct).ConfigureAwait(false);
        var remaining = wait.DueAt!.Value - _run.Time.GetUtcNow();
        if (remaining > TimeSpan.Zero)
        {
            if (_run.ParkLongerThan is { } limit && remaining > limit)
            {
                throw Park(wait);
            }

            await Task.Delay(remaining, _run.Time, ct).ConfigureAwait(false);
        }

        await CloseWaitAsync(wait).ConfigureAwait(false);
        return new JsonObject { ["until"] = WaitKinds.Timestamp(wait.DueAt) };
    }

    /// <summary>The wait as the store has it: opened now, or as an earlier attempt opened it (its due time then).</summary>
    private async Task<WaitRecord> OpenWaitAsync(string id, string kind, string name, JsonNode? data, TimeSpan? timeout, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var now = _run.Time.GetUtcNow();
        var wait = new WaitRecord { RunId = _run.Id, StepId = id, Kind = kind, Name = name, Data = data?.DeepClone(), CreatedAt = now, DueAt = now + timeout };
        return await _run.Journal.Waits.OpenAsync(wait, CancellationToken.None).ConfigureAwait(false);
    }

    private ValueTask CloseWaitAsync(WaitRecord wait) =>
        _run.Journal.Waits.CloseAsync(wait.RunId, wait.StepId, _run.Time.GetUtcNow(), CancellationToken.None);

    private async Task<JsonNode?> TimeOutOrParkAsync(string id, WaitRecord wait, StepOptions? options)
    {
        if (wait.DueAt is { } due && _run.Time.GetUtcNow() >= due)
        {
            await CloseWaitAsync(wait).ConfigureAwait(false);
            return await FailWaitAsync(id, $"{wait.Kind} '{wait.Name}' timed out at {WaitKinds.Timestamp(due)}", "timeout", null, options).ConfigureAwait(false);
        }

        throw Park(wait);
    }

    /// <summary>A rejected or timed-out wait, through the severity path as any failed step: critical throws, else it degrades.</summary>
    private async Task<JsonNode?> FailWaitAsync(string id, string reason, string errorType, JsonNode? output, StepOptions? options)
    {
        var severity = await ClassifyAsync(new StepFailure(id, null, reason, errorType, Severity.Critical), options).ConfigureAwait(false);
        if (severity == Severity.Critical)
        {
            throw new AgentFailedException(reason, output, severity);
        }

        throw new StepDegradedException(severity, reason, options?.Fallback);
    }

    private RunParkedException Park(WaitRecord wait)
    {
        _run.Park(wait);
        return new RunParkedException(wait);
    }

    private static TimeSpan? PositiveOrNull(TimeSpan? timeout) => timeout is { } t && t <= TimeSpan.Zero
        ? throw new ArgumentOutOfRangeException(nameof(timeout), t, "a wait's timeout must be positive")
        : timeout;
}
