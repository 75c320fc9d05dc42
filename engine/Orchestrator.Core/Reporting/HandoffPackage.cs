using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Reporting;

/// <summary>
/// Everything a handoff report shows, built from the journal alone so that a report can be rendered
/// again at any time: the run, its steps, the data and template of the run's last handoff, and the verdicts of
/// its quality checks.
/// </summary>
internal sealed record HandoffPackage(RunRecord Run, IReadOnlyList<StepRecord> Steps, JsonNode? Data, string? TemplatePath, string? Title)
{
    /// <summary>The verdicts of the run's quality checks (its steps of kind <c>qa</c>), in the order they ran.</summary>
    public IReadOnlyList<QaCheckResult> Qa => QaCheckResult.FromSteps(Steps);

    public static async Task<HandoffPackage> LoadAsync(IJournal journal, string runId, CancellationToken cancellationToken)
    {
        var run = await journal.GetRunAsync(runId, cancellationToken).ConfigureAwait(false)
            ?? throw new KeyNotFoundException($"no run with id '{runId}'");
        var steps = StepFolding.Fold(await journal.GetEntriesAsync(runId, cancellationToken).ConfigureAwait(false));
        var handoff = steps.LastOrDefault(s => s.Kind == "handoff" && s.Status == RunStatus.Succeeded);
        return new HandoffPackage(
            run,
            steps,
            handoff?.Input?["data"]?.DeepClone(),
            handoff?.Input?["template"]?.GetValue<string>(),
            handoff?.Name);
    }
}
