using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Reporting;

/// <summary>
/// Everything a handoff report shows, built from the journal alone so that a report can be rendered
/// again at any time: the run, the steps it lists, the digest of all its steps (counts, groups, failures), the data
/// and template of the run's last handoff, and the verdicts of its quality checks. Its size depends on the shape of
/// the run, not on how many steps it ran (see <see cref="StepDigestBuilder"/>).
/// </summary>
internal sealed record HandoffPackage(RunRecord Run, IReadOnlyList<StepRecord> Steps, JsonNode? Data, string? TemplatePath, string? Title)
{
    private StepDigest? _digest;

    /// <summary>Counts, groups and failures of every step of the run; of the listed ones when the package was built from them alone.</summary>
    public StepDigest Digest
    {
        get => _digest ??= StepDigest.Of(Steps);
        init => _digest = value;
    }

    /// <summary>The verdicts of the run's quality checks (its steps of kind <c>qa</c>), in the order they ran.</summary>
    public IReadOnlyList<QaCheckResult> Qa => QaCheckResult.FromSteps(Digest.Notable);

    /// <summary>Reads the run's journal once, in order, holding only what the package keeps.</summary>
    public static async Task<HandoffPackage> LoadAsync(IJournal journal, string runId, CancellationToken cancellationToken)
    {
        var run = await journal.GetRunAsync(runId, cancellationToken).ConfigureAwait(false)
            ?? throw new KeyNotFoundException($"no run with id '{runId}'");
        var builder = new StepDigestBuilder();
        await foreach (var row in journal.ReadAsync(runId, builder.PayloadFor, cancellationToken).ConfigureAwait(false))
        {
            builder.Add(in row);
        }

        var (digest, steps) = builder.Finish();
        var handoff = digest.Notable.LastOrDefault(s => s.Kind == "handoff" && s.Status == RunStatus.Succeeded);
        return new HandoffPackage(
            run,
            steps,
            handoff?.Input?["data"]?.DeepClone(),
            handoff?.Input?["template"]?.GetValue<string>(),
            handoff?.Name)
        {
            Digest = digest,
        };
    }
}
