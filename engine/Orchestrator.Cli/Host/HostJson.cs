using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Runs;

namespace Orchestrator.Cli.Host;

/// <summary>How the API shows runs, steps and events: camelCase JSON, statuses in lower case.</summary>
internal static class HostJson
{
    /// <summary>Running, succeeded, failed, cancelled, or interrupted (journaled as running, but nothing runs it any more).</summary>
    /// <param name="sharedStore">The store is shared by machines: another machine's running run is never taken for interrupted.</param>
    public static string StatusOf(RunRecord run, bool inFlight, bool sharedStore) =>
        !inFlight && RunLiveness.IsInterrupted(run, sharedStore) ? "interrupted" : Lower(run.Status);

    public static JsonObject Run(RunRecord run, bool inFlight, bool sharedStore = false) => new()
    {
        ["id"] = run.Id,
        ["status"] = StatusOf(run, inFlight, sharedStore),
        ["script"] = run.Script,
        ["language"] = run.Language,
        ["startedAt"] = run.StartedAt,
        ["endedAt"] = run.EndedAt,
        ["durationMs"] = run.DurationMs,
        ["error"] = run.Error,
        ["report"] = run.Report,
    };

    public static JsonObject Step(StepRecord step) => new()
    {
        ["id"] = step.Id,
        ["parentId"] = step.ParentId,
        ["name"] = step.Name,
        ["kind"] = step.Kind,
        ["agent"] = step.Agent,
        ["status"] = Lower(step.Status),
        ["attempt"] = step.Attempt,
        ["input"] = step.Input?.DeepClone(),
        ["output"] = step.Output?.DeepClone(),
        ["error"] = step.Error,
        ["seq"] = step.Seq,
        ["startedAt"] = step.StartedAt,
        ["endedAt"] = step.EndedAt,
        ["durationMs"] = step.DurationMs,
    };

    /// <summary>The SSE event name: <c>step</c> for the script's steps, the kind for what the engine journals on its own.</summary>
    public static string EventName(RunEvent e) => e.End is not null
        ? "end"
        : e.Step.Kind is "anomaly" or "adaptation" or "recommendation" or "plugin-reload" ? e.Step.Kind : "step";

    public static JsonObject Event(RunEvent e)
    {
        if (e.End is { } end)
        {
            return new JsonObject
            {
                ["runId"] = end.RunId,
                ["status"] = Lower(end.Status),
                ["error"] = end.Error,
                ["result"] = end.Result?.DeepClone(),
                ["steps"] = end.Steps,
                ["durationMs"] = end.DurationMs,
                ["report"] = end.Report,
            };
        }

        var step = e.Step;
        return new JsonObject
        {
            ["seq"] = step.Seq,
            ["runId"] = step.RunId,
            ["stepId"] = step.StepId,
            ["parentId"] = step.ParentId,
            ["event"] = Lower(step.Event),
            ["name"] = step.Name,
            ["kind"] = step.Kind,
            ["agent"] = step.Agent,
            ["attempt"] = step.Attempt,
            ["payload"] = step.Payload?.DeepClone(),
            ["error"] = step.Error,
            ["at"] = ToMilliseconds(step.At),
        };
    }

    /// <summary>The journal keeps times to the millisecond: a live event says what a late reader will read.</summary>
    private static DateTimeOffset ToMilliseconds(DateTimeOffset at) =>
        new(at.UtcTicks - (at.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

    public static JsonObject Error(string message) => new() { ["error"] = message };

    private static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}
