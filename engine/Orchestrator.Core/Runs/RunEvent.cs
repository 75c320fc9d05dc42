using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Runs;

/// <summary>How a run ended, as its event stream's last event says it.</summary>
internal sealed record RunEnd(string RunId, RunStatus Status, string? Error, JsonNode? Result, int Steps, DateTimeOffset? EndedAt, double? DurationMs, string? Report)
{
    public static RunEnd From(RunOutcome outcome) =>
        new(outcome.Run.Id, outcome.Run.Status, outcome.Run.Error, outcome.Run.Result, outcome.Steps, outcome.Run.EndedAt, outcome.Run.DurationMs, outcome.ReportPath);

    /// <summary>The end of a run that is no longer in flight, from the store.</summary>
    public static RunEnd From(RunRecord run, int steps) =>
        new(run.Id, run.Status, run.Error, run.Result, steps, run.EndedAt, run.DurationMs, run.Report);
}

/// <summary>One event of a run's stream: a journaled step event, or the run's end, which is always the last.</summary>
internal readonly record struct RunEvent(JournalEntry Step, RunEnd? End)
{
    public static RunEvent Ended(RunEnd end) => new(default, end);
}

/// <summary>A run that is starting, or starting again on resume, as its stream's observers first hear of it.</summary>
/// <param name="LastSeq">The sequence number of its last journaled event before this attempt; 0 for a new run.</param>
internal sealed record RunStart(RunRecord Run, long LastSeq)
{
    public bool Resumed => LastSeq > 0;
}

/// <summary>
/// Hears one run's events in order, synchronously, as they are appended: what must see every event at once
/// (live progress, telemetry). It must be quick and not throw.
/// </summary>
internal interface IRunObserver
{
    void OnStep(in JournalEntry entry);

    void OnEnd(RunEnd end);
}
