using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Reporting;

/// <summary>
/// The verdict of one quality check of a run (a journaled step of kind <c>qa</c>), as the handoff package and the
/// report show it. Read from the journal alone, like the rest of the package.
/// </summary>
/// <param name="Name">The check's name.</param>
/// <param name="StepId">Its step, e.g. <c>qa/result has items</c>.</param>
/// <param name="Passed">True when it found no issue.</param>
/// <param name="Required">True when its failure fails the run.</param>
/// <param name="Issues">What it found; for a check that did not finish, why.</param>
/// <param name="Status">Its step's status: succeeded (passed), degraded (failed, not required), failed, running or cancelled.</param>
internal sealed record QaCheckResult(string Name, string StepId, bool Passed, bool Required, IReadOnlyList<string> Issues, RunStatus Status)
{
    public const string StepKind = "qa";

    /// <summary>The quality checks among <paramref name="steps"/>, in the order they ran.</summary>
    public static IReadOnlyList<QaCheckResult> FromSteps(IReadOnlyList<StepRecord> steps) =>
        [.. steps.Where(s => s.Kind == StepKind).OrderBy(s => s.Seq).Select(FromStep)];

    private static QaCheckResult FromStep(StepRecord step)
    {
        var verdict = step.Output as JsonObject;
        var required = Bool(verdict?["required"]) ?? Bool(step.Input?["required"]) ?? false;
        if (verdict is not null && Bool(verdict["passed"]) is { } passed)
        {
            var issues = verdict["issues"] is JsonArray list ? list.Select(i => i is JsonValue v && v.TryGetValue<string>(out var s) ? s : i?.ToJsonString() ?? "null").ToList() : [];
            return new QaCheckResult(step.Name, step.Id, passed, required, issues, step.Status);
        }

        // A check that never reached a verdict (still running, cancelled, cut off by a crash) has not passed.
        var why = step.Error ?? $"the check did not finish ({step.Status.ToString().ToLowerInvariant()})";
        return new QaCheckResult(step.Name, step.Id, false, required, [why], step.Status);
    }

    private static bool? Bool(JsonNode? node) => node is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;
}
