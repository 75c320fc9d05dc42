using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Scripting.CSharp;

/// <summary>
/// Durable waits in .csx workflows: <c>await Approval("deploy", data, timeout: TimeSpan.FromHours(4))</c>,
/// <c>await WaitForEvent("payment", TimeSpan.FromDays(1))</c>, <c>await Sleep(TimeSpan.FromHours(2))</c>. A wait with
/// nothing to return yet parks the run (it ends as waiting); a resume replays it to the wait, which then returns.
/// </summary>
public sealed partial class WorkflowGlobals
{
    /// <summary>
    /// Asks for a person's approval of <paramref name="name"/>, showing <paramref name="data"/>; returns the decision
    /// <c>{ name, approved, by, comment, at }</c>. A rejection or a timeout fails the step, by <paramref name="severity"/>.
    /// </summary>
    public Task<JsonNode?> Approval(string name, object? data = null, TimeSpan? timeout = null, Severity? severity = null, object? fallback = null) =>
        Scope.ApprovalAsync(name, ToJson(data), new StepOptions { Timeout = timeout, Severity = severity, Fallback = ToJson(fallback) }, CancellationToken);

    /// <summary>Waits for the event <paramref name="name"/> (<c>orchestrator signal</c>); returns its data. No event by the timeout fails the step.</summary>
    public Task<JsonNode?> WaitForEvent(string name, TimeSpan? timeout = null, Severity? severity = null, object? fallback = null) =>
        Scope.WaitForEventAsync(name, new StepOptions { Timeout = timeout, Severity = severity, Fallback = ToJson(fallback) }, CancellationToken);

    /// <summary>Sleeps durably: a resumed run sleeps only what is left; a long sleep parks the run.</summary>
    public Task<JsonNode?> Sleep(TimeSpan duration, string? name = null) => Scope.SleepAsync(duration, name, CancellationToken);
}
