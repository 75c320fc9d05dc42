using System.Text.RegularExpressions;
using Orchestrator.Core.Journal;

namespace Orchestrator.Tests.Waits;

/// <summary>What the waits' tests read back: the id of a run that ended waiting, and a run's steps from its store.</summary>
internal static class WaitingRuns
{
    public static string IdOf(string stdout) =>
        Regex.Match(stdout, @"run (\S+) waiting").Groups[1].Value is { Length: > 0 } id ? id : throw new InvalidOperationException("no waiting run in: " + stdout);

    public static async Task<IReadOnlyList<StepRecord>> StepsAsync(string store, string runId)
    {
        await using var journal = SqliteJournal.Open(store);
        return StepFolding.Fold(await journal.GetEntriesAsync(runId, CancellationToken.None));
    }
}
