using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Waits;

/// <summary>
/// The rules for ending a wait from outside the run, shared by the CLI, the host's API and the MCP tools: which approval
/// a decision is for, and which runs can still be sent an event.
/// </summary>
internal static class WaitDecisions
{
    /// <summary>
    /// Records a person's decision on the run's pending approval <paramref name="name"/> (a name or a step id; may be
    /// left out when the run waits for one approval only). Throws <see cref="WaitRefusedException"/> saying why not.
    /// </summary>
    public static async Task<WaitRecord> DecideAsync(IJournal journal, string runId, string? name, bool approved, string by, string? comment, DateTimeOffset at, CancellationToken cancellationToken)
    {
        _ = await journal.GetRunAsync(runId, cancellationToken).ConfigureAwait(false) ?? throw new WaitRefusedException($"no run with id '{runId}'");
        var pending = (await journal.Waits.ListAsync(runId, includeClosed: false, cancellationToken).ConfigureAwait(false))
            .Where(w => w.Kind == WaitKinds.Approval && w.Decision is null)
            .ToList();
        var matching = name is null ? pending : [.. pending.Where(w => w.Name == name || w.StepId == name)];
        var wait = matching.Count switch
        {
            1 => matching[0],
            0 when pending.Count == 0 => throw new WaitRefusedException($"run {runId} has no pending approval" + (name is null ? "" : $" '{name}'")),
            0 => throw new WaitRefusedException($"run {runId} has no pending approval '{name}'; it waits for: {string.Join(", ", pending.Select(w => w.StepId))}"),
            _ => throw new WaitRefusedException($"run {runId} waits for {matching.Count} approvals; name one: {string.Join(", ", matching.Select(w => w.StepId))}"),
        };
        var decision = new JsonObject { ["approved"] = approved, ["by"] = by, ["comment"] = comment, ["at"] = WaitKinds.Timestamp(at) };
        return await journal.Waits.DecideAsync(runId, wait.StepId, decision, at, cancellationToken).ConfigureAwait(false)
            ? wait with { Decision = decision }
            : throw new WaitRefusedException($"approval '{wait.Name}' of run {runId} was decided meanwhile");
    }

    /// <summary>
    /// Stores the event <paramref name="name"/> for the run, to be taken by its first wait for that name. Refused for a
    /// run that has finished, and for an event the run stopped waiting for when its wait timed out.
    /// </summary>
    public static async Task<long> SignalAsync(IJournal journal, string runId, string name, JsonNode? data, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var run = await journal.GetRunAsync(runId, cancellationToken).ConfigureAwait(false) ?? throw new WaitRefusedException($"no run with id '{runId}'");
        if (run.Status is RunStatus.Succeeded or RunStatus.Failed)
        {
            throw new WaitRefusedException($"run {runId} already {run.Status.ToString().ToLowerInvariant()}; no step of it will wait for event '{name}' any more");
        }

        var waits = (await journal.Waits.ListAsync(runId, includeClosed: true, cancellationToken).ConfigureAwait(false))
            .Where(w => w.Kind == WaitKinds.Event && w.Name == name)
            .ToList();
        if (waits.Count > 0 && waits.All(w => w.ClosedAt is not null) && waits[^1] is { DueAt: { } due, ClosedAt: { } closed } && closed >= due)
        {
            throw new WaitRefusedException($"run {runId} stopped waiting for event '{name}' at {WaitKinds.Timestamp(due)}: its wait timed out");
        }

        return await journal.Waits.SignalAsync(runId, name, data, at, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>A decision or a signal that cannot be taken; the message says why, in one line.</summary>
internal sealed class WaitRefusedException(string message) : Exception(message);
