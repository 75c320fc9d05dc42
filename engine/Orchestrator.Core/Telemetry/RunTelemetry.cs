using System.Diagnostics;
using Orchestrator.Core.Health;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Runs;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Telemetry;

/// <summary>
/// Turns one run's event stream into spans and measurements: a span for the run, one per step under its parent
/// step's span (the same tree as the steps), with the journal's times. The stream calls it in order under its own
/// lock, so it needs none. Made only when something listens (<see cref="OrchestratorTelemetry.IsObserved"/>).
/// </summary>
internal sealed class RunTelemetry : IRunObserver
{
    private readonly Dictionary<string, Activity?> _open = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _startedAt = new(StringComparer.Ordinal);
    private readonly Activity? _run;
    private readonly string _runId;
    private readonly CircuitWatch? _circuits;
    private readonly bool _resumed;

    private RunTelemetry(RunStart start, CircuitWatch? circuits)
    {
        _runId = start.Run.Id;
        _circuits = circuits;

        // A first attempt's span has the journal's times; a resume's starts now, since the run's start was long ago.
        _resumed = start.Resumed;
        ActivityLink[]? links = null;
        if (start.Resumed && OrchestratorTelemetry.FirstAttemptOf(_runId) is { } first)
        {
            links = [new ActivityLink(first)];
        }

        _run = StartDetached(
            "run " + Path.GetFileName(start.Run.Script),
            default,
            [new("orchestrator.run.id", _runId), new("orchestrator.script", start.Run.Script), new("orchestrator.run.resumed", start.Resumed)],
            links,
            start.Resumed ? default : start.Run.StartedAt);
        if (_run is not null && !start.Resumed)
        {
            OrchestratorTelemetry.RememberFirstAttempt(_runId, _run.Context);
        }
    }

    /// <summary>An observer factory for <see cref="RunEventStream"/>: an observer for the run when anything listens, else none.</summary>
    public static Func<RunStart, IRunObserver?> Factory(CircuitWatch? circuits = null) =>
        start => OrchestratorTelemetry.IsObserved ? new RunTelemetry(start, circuits) : null;

    public void OnStep(in JournalEntry entry)
    {
        if (entry.Event == StepEvent.Started)
        {
            OrchestratorTelemetry.StepsStarted.Add(1, new KeyValuePair<string, object?>("orchestrator.step.kind", entry.Kind));
            OrchestratorTelemetry.StepsInFlight.Add(1);
            if (entry.Kind == "anomaly")
            {
                OrchestratorTelemetry.Anomalies.Add(1, new KeyValuePair<string, object?>("orchestrator.anomaly", entry.Name));
            }

            var parent = entry.ParentId is { } parentId && _open.TryGetValue(parentId, out var parentSpan) ? parentSpan : _run;
            _open[entry.StepId] = StartDetached(
                entry.Name,
                parent?.Context ?? default,
                [
                    new("orchestrator.run.id", _runId),
                    new("orchestrator.step.id", entry.StepId),
                    new("orchestrator.step.kind", entry.Kind),
                    new("orchestrator.agent", entry.Agent),
                    new("orchestrator.attempt", entry.Attempt),
                ],
                null,
                entry.At);
            _startedAt[entry.StepId] = entry.At;
            return;
        }

        if (entry.Event == StepEvent.Compensated || !_startedAt.Remove(entry.StepId, out var startedAt))
        {
            return;
        }

        var failed = entry.Event == StepEvent.Failed;
        var status = entry.Event.ToString().ToLowerInvariant();
        var kind = new KeyValuePair<string, object?>("orchestrator.step.kind", entry.Kind);
        (failed ? OrchestratorTelemetry.StepsFailed : OrchestratorTelemetry.StepsFinished).Add(1, kind);
        OrchestratorTelemetry.StepsInFlight.Add(-1);
        OrchestratorTelemetry.StepDuration.Record((entry.At - startedAt).TotalMilliseconds, kind, new KeyValuePair<string, object?>("orchestrator.step.status", status));
        if (entry.Agent is { } agent)
        {
            _circuits?.Check(agent);
        }

        if (_open.Remove(entry.StepId, out var span) && span is not null)
        {
            span.SetTag("orchestrator.step.status", status);
            if (SeverityOf(entry.Error) is { } severity)
            {
                span.SetTag("orchestrator.severity", severity);
            }

            if (failed)
            {
                span.SetStatus(ActivityStatusCode.Error, entry.Error);
            }

            span.SetEndTime(entry.At.UtcDateTime);
            span.Stop();
        }
    }

    public void OnEnd(RunEnd end)
    {
        // Steps still open when the run ended (cancelled, or abandoned by a failure) end with it.
        foreach (var (stepId, span) in _open)
        {
            OrchestratorTelemetry.StepsInFlight.Add(-1);
            if (span is not null)
            {
                span.SetTag("orchestrator.step.status", "unfinished");
                span.Stop();
            }

            _startedAt.Remove(stepId);
        }

        _open.Clear();
        if (_run is null)
        {
            return;
        }

        _run.SetTag("orchestrator.run.status", end.Status.ToString().ToLowerInvariant());
        _run.SetTag("orchestrator.run.steps", end.Steps);
        if (end.Status != RunStatus.Succeeded)
        {
            _run.SetStatus(ActivityStatusCode.Error, end.Error);
        }

        if (!_resumed && end.EndedAt is { } endedAt)
        {
            _run.SetEndTime(endedAt.UtcDateTime);
        }

        _run.Stop();
    }

    /// <summary>Degraded and absorbed failures are journaled as "severity: message".</summary>
    private static string? SeverityOf(string? error)
    {
        var colon = error?.IndexOf(':') ?? -1;
        return colon > 0 && Enum.TryParse<Abstractions.Severity>(error![..colon], ignoreCase: true, out var severity)
            ? severity.ToString().ToLowerInvariant()
            : null;
    }

    /// <summary>
    /// Starts a span without making it the current one: events arrive on the steps' own threads, and a span left as
    /// <see cref="Activity.Current"/> there would become the parent of whatever the step does next.
    /// </summary>
    private static Activity? StartDetached(string name, ActivityContext parent, IEnumerable<KeyValuePair<string, object?>> tags, IEnumerable<ActivityLink>? links, DateTimeOffset startTime)
    {
        var current = Activity.Current;
        try
        {
            // A run's span is a root: a run outlives the request that started it.
            Activity.Current = null;
            return OrchestratorTelemetry.Source.StartActivity(name, ActivityKind.Internal, parent, tags, links, startTime);
        }
        finally
        {
            Activity.Current = current;
        }
    }
}

/// <summary>Counts agents' circuit state changes, as the steps that end on each agent reveal them.</summary>
internal sealed class CircuitWatch(AgentHealthBook health)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, AgentHealthState> _last = new(StringComparer.OrdinalIgnoreCase);

    public void Check(string agent)
    {
        var now = health.StateOf(agent);
        var before = _last.GetOrAdd(agent, AgentHealthState.Healthy);
        if (now != before && _last.TryUpdate(agent, now, before))
        {
            OrchestratorTelemetry.CircuitChanges.Add(
                1,
                new KeyValuePair<string, object?>("orchestrator.agent", agent),
                new KeyValuePair<string, object?>("orchestrator.circuit.state", now.ToString().ToLowerInvariant()));
        }
    }
}
