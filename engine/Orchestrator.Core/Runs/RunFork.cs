using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Runs;

/// <summary>
/// Forking a run (time travel): a new run whose journal is the source run's up to, not including, the first event of a
/// step, so that resuming it replays everything before that step and runs live from there, with the same or another
/// input and script. The new run records where it came from in a first-class step, <c>@fork</c>.
/// </summary>
internal static class RunFork
{
    public const string MarkerStep = "@fork";

    /// <summary>
    /// Journals the fork of <paramref name="sourceId"/> at <paramref name="atStep"/> as a new, not yet started run (status
    /// cancelled, "forked, not started": a resume starts it) and returns it. Throws <see cref="ResumeRefusedException"/>
    /// when there is no such run or step.
    /// </summary>
    public static async Task<RunRecord> CreateAsync(
        IJournal journal, string sourceId, string atStep, string scriptPath, byte[] script, string language, JsonNode? input, TimeProvider time, CancellationToken cancellationToken)
    {
        var source = await journal.GetRunAsync(sourceId, cancellationToken).ConfigureAwait(false)
            ?? throw new ResumeRefusedException($"no run with id '{sourceId}'");
        var entries = await journal.GetEntriesAsync(sourceId, cancellationToken).ConfigureAwait(false);
        var cut = 0;
        while (cut < entries.Count && !string.Equals(entries[cut].StepId, atStep, StringComparison.Ordinal))
        {
            cut++;
        }

        if (cut == entries.Count)
        {
            var steps = entries.Select(e => e.StepId).Where(s => !s.StartsWith('@')).Distinct(StringComparer.Ordinal).Take(12).ToList();
            throw new ResumeRefusedException($"run {sourceId} has no step '{atStep}'{(steps.Count == 0 ? "" : $"; its steps include: {string.Join(", ", steps)}")}");
        }

        var now = time.GetUtcNow();
        var fork = new RunRecord
        {
            Id = WorkflowEngine.NewRunId(now),
            Script = scriptPath,
            ScriptHash = Convert.ToHexStringLower(SHA256.HashData(script)),
            Language = language,
            EngineVersion = WorkflowEngine.EngineVersion,
            Input = input?.DeepClone() ?? source.Input?.DeepClone(),
            StartedAt = now,
        };
        await journal.StartRunAsync(fork, cancellationToken).ConfigureAwait(false);
        foreach (var entry in entries.Take(cut))
        {
            await journal.AppendAsync(entry with { RunId = fork.Id }, cancellationToken).ConfigureAwait(false);
        }

        var origin = new JsonObject { ["run"] = sourceId, ["at"] = atStep, ["replayed"] = cut };
        await journal.AppendAsync(new JournalEntry(fork.Id, cut + 1, MarkerStep, StepEvent.Succeeded, null, "fork", "fork", null, 1, origin, null, now), cancellationToken).ConfigureAwait(false);
        var note = $"forked from run {sourceId} at step '{atStep}'; not started yet";
        await journal.EndRunAsync(fork.Id, RunStatus.Cancelled, null, note, now, cancellationToken).ConfigureAwait(false);
        return fork;
    }

    /// <summary>The steps whose status or output differ between two runs, in the order they first appear in either (the <c>@fork</c> marker aside).</summary>
    public static async Task<IReadOnlyList<(string Step, StepRecord? A, StepRecord? B)>> DiffAsync(IJournal journal, string a, string b, CancellationToken cancellationToken)
    {
        var left = await StepsAsync(journal, a, cancellationToken).ConfigureAwait(false);
        var right = await StepsAsync(journal, b, cancellationToken).ConfigureAwait(false);
        var differences = new List<(string, StepRecord?, StepRecord?)>();
        foreach (var id in left.Keys.Concat(right.Keys).Distinct(StringComparer.Ordinal))
        {
            left.TryGetValue(id, out var x);
            right.TryGetValue(id, out var y);
            if (x is null || y is null || x.Status != y.Status || !string.Equals(x.Output?.ToJsonString(), y.Output?.ToJsonString(), StringComparison.Ordinal))
            {
                differences.Add((id, x, y));
            }
        }

        return differences;
    }

    private static async Task<Dictionary<string, StepRecord>> StepsAsync(IJournal journal, string runId, CancellationToken cancellationToken)
    {
        _ = await journal.GetRunAsync(runId, cancellationToken).ConfigureAwait(false) ?? throw new ResumeRefusedException($"no run with id '{runId}'");
        var steps = new Dictionary<string, StepRecord>(StringComparer.Ordinal);
        foreach (var step in StepFolding.Fold(await journal.GetEntriesAsync(runId, cancellationToken).ConfigureAwait(false)))
        {
            if (step.Id != MarkerStep)
            {
                steps.TryAdd(step.Id, step);
            }
        }

        return steps;
    }
}
