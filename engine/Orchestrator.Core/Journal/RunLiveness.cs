using System.Collections.Concurrent;

namespace Orchestrator.Core.Journal;

/// <summary>
/// Whether a run the journal says is running really is: the one liveness rule that <c>orchestrator runs</c>
/// (status <c>interrupted</c>) and retention (<see cref="IJournal.PruneAsync"/>) share.
/// </summary>
/// <remarks>
/// A SQLite journal (WAL mode) only works for processes on one machine; so a run recorded there by another host, or
/// with no host at all (format 1), cannot be running against the store now. A PostgreSQL store is shared by machines:
/// a run another machine records as running may well be, and is never taken for interrupted from here.
/// </remarks>
internal static class RunLiveness
{
    /// <summary>Run id → how many journals of this process have it started and not yet ended.</summary>
    private static readonly ConcurrentDictionary<string, int> ActiveHere = new(StringComparer.Ordinal);

    /// <summary>
    /// True if the process that last ran <paramref name="run"/> is still running: the run names this host
    /// and a process id that is alive (this process counts as alive).
    /// </summary>
    public static bool IsAlive(RunRecord run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return IsThisHost(run.Host) && run.Pid is { } pid && ProcessLiveness.IsAlive(pid);
    }

    /// <summary>
    /// True if the run is recorded as running but nothing runs it any more: its process is gone, or it
    /// names this very process, which is not running it (a stale record whose process id was reused).
    /// </summary>
    /// <param name="sharedStore">The store is shared by machines (<see cref="IJournal.SharedAcrossMachines"/>).</param>
    public static bool IsInterrupted(RunRecord run, bool sharedStore = false)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (run.Status != RunStatus.Running)
        {
            return false;
        }

        if (sharedStore && run.Host is not null && !IsThisHost(run.Host))
        {
            return false; // another machine's process: cannot tell from here, so never treated as gone
        }

        if (!IsAlive(run))
        {
            return true;
        }

        return run.Pid == Environment.ProcessId && !ActiveHere.ContainsKey(run.Id);
    }

    /// <summary>Marks a run as being run by this process (a journal started or reopened it).</summary>
    internal static void MarkActive(string runId) => ActiveHere.AddOrUpdate(runId, 1, (_, count) => count + 1);

    /// <summary>Undoes one <see cref="MarkActive"/> (the run ended, or its journal closed).</summary>
    internal static void MarkInactive(string runId)
    {
        while (ActiveHere.TryGetValue(runId, out var count))
        {
            if (count <= 1
                ? ActiveHere.TryRemove(new KeyValuePair<string, int>(runId, count))
                : ActiveHere.TryUpdate(runId, count - 1, count))
            {
                return;
            }
        }
    }

    private static bool IsThisHost(string? host) =>
        host is not null && string.Equals(host, Environment.MachineName, StringComparison.OrdinalIgnoreCase);
}

/// <summary>The runs one journal has started or reopened and not yet ended, reported to <see cref="RunLiveness"/>.</summary>
internal sealed class ActiveRuns
{
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public void Started(string runId)
    {
        lock (_gate)
        {
            if (_ids.Add(runId))
            {
                RunLiveness.MarkActive(runId);
            }
        }
    }

    public void Ended(string runId)
    {
        lock (_gate)
        {
            if (_ids.Remove(runId))
            {
                RunLiveness.MarkInactive(runId);
            }
        }
    }

    /// <summary>The journal closed: whatever it left running is no longer run by this process.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            foreach (var id in _ids)
            {
                RunLiveness.MarkInactive(id);
            }

            _ids.Clear();
        }
    }
}
