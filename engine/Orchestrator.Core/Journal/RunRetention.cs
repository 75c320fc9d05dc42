namespace Orchestrator.Core.Journal;

/// <summary>Which runs a prune removes; both journals apply this one rule.</summary>
internal static class RunRetention
{
    /// <summary>Refuses a prune that names no limit, or a negative count.</summary>
    public static void Validate(DateTimeOffset? startedBefore, int? keepNewest)
    {
        if (startedBefore is null && keepNewest is null)
        {
            throw new ArgumentException("A prune needs a cutoff (startedBefore), a count to keep (keepNewest), or both.");
        }

        if (keepNewest is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(keepNewest), keepNewest, "The number of runs to keep cannot be negative.");
        }
    }

    /// <summary>
    /// The runs to prune: those started before <paramref name="startedBefore"/> (if given) and not among the
    /// <paramref name="keepNewest"/> most recently started (if given) — never one that is still running on a
    /// live process (see <see cref="RunLiveness"/>).
    /// </summary>
    public static IReadOnlyList<RunRecord> Select(IEnumerable<RunRecord> runs, DateTimeOffset? startedBefore, int? keepNewest, bool sharedStore = false)
    {
        Validate(startedBefore, keepNewest);
        return runs
            .OrderByDescending(r => r.StartedAt)
            .ThenByDescending(r => r.Id, StringComparer.Ordinal)
            .Skip(keepNewest ?? 0)
            .Where(r => startedBefore is not { } cutoff || r.StartedAt < cutoff)
            .Where(r => r.Status != RunStatus.Running || RunLiveness.IsInterrupted(r, sharedStore))
            .Reverse()
            .ToList();
    }
}
