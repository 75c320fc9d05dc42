using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Telemetry;

/// <summary>
/// The engine's OpenTelemetry sources, in the BCL's own types (no OpenTelemetry package here): an
/// <see cref="ActivitySource"/> with a span per run and per step, and a <see cref="Meter"/> for steps, circuits
/// and anomalies. Both are named <see cref="Name"/>; an exporter subscribes by that name.
/// </summary>
internal static class OrchestratorTelemetry
{
    public const string Name = "Orchestrator";

    /// <summary>How many first attempts' span contexts are remembered for the resumes that link to them.</summary>
    private const int RememberedRuns = 10_000;

    private static readonly ConcurrentDictionary<string, ActivityContext> FirstAttempts = new(StringComparer.Ordinal);

    public static ActivitySource Source { get; } = new(Name, WorkflowEngine.EngineVersion);

    public static Meter Meter { get; } = new(Name, WorkflowEngine.EngineVersion);

    public static Counter<long> StepsStarted { get; } = Meter.CreateCounter<long>("orchestrator.steps.started", "{step}", "Steps started.");

    public static Counter<long> StepsFinished { get; } = Meter.CreateCounter<long>("orchestrator.steps.finished", "{step}", "Steps that succeeded or were degraded.");

    public static Counter<long> StepsFailed { get; } = Meter.CreateCounter<long>("orchestrator.steps.failed", "{step}", "Steps that failed.");

    public static Histogram<double> StepDuration { get; } = Meter.CreateHistogram<double>("orchestrator.step.duration", "ms", "How long steps took, from start to end.");

    public static UpDownCounter<long> StepsInFlight { get; } = Meter.CreateUpDownCounter<long>("orchestrator.steps.in_flight", "{step}", "Steps started and not yet ended.");

    public static Counter<long> CircuitChanges { get; } = Meter.CreateCounter<long>("orchestrator.circuit.changes", "{change}", "Agent circuit state changes.");

    public static Counter<long> Anomalies { get; } = Meter.CreateCounter<long>("orchestrator.anomalies", "{anomaly}", "Anomalies the monitor detected.");

    /// <summary>Whether anything listens: without a listener a run gets no telemetry observer, and its steps pay nothing.</summary>
    public static bool IsObserved =>
        Source.HasListeners() || StepsStarted.Enabled || StepsFinished.Enabled || StepsFailed.Enabled || StepDuration.Enabled
        || StepsInFlight.Enabled || CircuitChanges.Enabled || Anomalies.Enabled;

    /// <summary>The span context of a run's first attempt, for its resumes to link to, if this process recorded it.</summary>
    public static ActivityContext? FirstAttemptOf(string runId) => FirstAttempts.TryGetValue(runId, out var context) ? context : null;

    internal static void RememberFirstAttempt(string runId, ActivityContext context)
    {
        if (FirstAttempts.Count >= RememberedRuns)
        {
            FirstAttempts.Clear();
        }

        FirstAttempts.TryAdd(runId, context);
    }
}
