using Orchestrator.Core.Journal;
using Orchestrator.Core.Waits;
using Serilog;

namespace Orchestrator.Core.Runs;

/// <summary>
/// The waiting runs of a host. A parked run holds no thread, task or script: only its id and the time it is due
/// (a wait's timeout or a sleep's end). One timer (on the host's <see cref="TimeProvider"/>) is set to the earliest due
/// time. A run is resumed by replay when its time comes or when a decision or an event may have ended its wait
/// (<see cref="Wake"/>); if nothing it waits for has come, the resume parks it again.
/// </summary>
internal sealed class ParkedRuns : IDisposable
{
    private readonly RunManager _runs;
    private readonly IJournal _journal;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Dictionary<string, DateTimeOffset?> _parked = new(StringComparer.Ordinal);

    // Wakes asked for while the run was still in flight (the decision came while it was parking): it resumes once parked.
    private readonly HashSet<string> _wakeWhenParked = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly ITimer _timer;
    private bool _stopped;

    public ParkedRuns(RunManager runs, IJournal journal, TimeProvider time, ILogger log)
    {
        _runs = runs;
        _journal = journal;
        _time = time;
        _log = log;
        _timer = time.CreateTimer(_ => WakeDue(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>How many runs are parked here now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _parked.Count;
            }
        }
    }

    /// <summary>The ids of the runs parked here now.</summary>
    public IReadOnlyList<string> Ids
    {
        get
        {
            lock (_gate)
            {
                return [.. _parked.Keys];
            }
        }
    }

    public bool Contains(string runId)
    {
        lock (_gate)
        {
            return _parked.ContainsKey(runId);
        }
    }

    /// <summary>
    /// Parks every run the store has as waiting (a host starting, perhaps after a crash); those whose wait may have
    /// ended while no host ran (a decision, an event, a due time) are resumed at once.
    /// </summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        var waiting = (await _journal.ListRunsAsync(cancellationToken).ConfigureAwait(false)).Where(r => r.Status == RunStatus.Waiting && _runs.MayRun(r.Script)).ToList();
        var now = _time.GetUtcNow();
        foreach (var run in waiting)
        {
            var waits = await _journal.Waits.ListAsync(run.Id, includeClosed: false, cancellationToken).ConfigureAwait(false);
            var ready = waits.Count == 0 || waits.Any(w => w.Decision is not null || w.Kind == WaitKinds.Event || w.DueAt <= now);
            if (ready)
            {
                Resume(run.Id);
            }
            else
            {
                Park(run.Id, waits.Min(w => w.DueAt), leaveActive: null);
            }
        }

        _log.Information("Host parked {Count} waiting run(s)", waiting.Count);
    }

    /// <summary>
    /// Parks a run that has just ended as waiting; <paramref name="leaveActive"/> takes it out of the runs in flight under
    /// the same lock, so that a wake cannot fall between the two.
    /// </summary>
    public void Park(string runId, DateTimeOffset? due, Action? leaveActive)
    {
        bool wakeNow;
        lock (_gate)
        {
            leaveActive?.Invoke();
            wakeNow = _wakeWhenParked.Remove(runId);
            if (!wakeNow && !_stopped)
            {
                _parked[runId] = due;
                Reschedule();
            }
        }

        if (wakeNow)
        {
            Resume(runId);
        }
    }

    /// <summary>
    /// Something the run may wait for has come (a decision, an event): resume it if it is parked here, or once it has
    /// parked if it is still in flight, or if the store has it waiting (a run a CLI process parked). False otherwise.
    /// </summary>
    public async Task<bool> WakeAsync(string runId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_parked.Remove(runId))
            {
                if (_runs.Find(runId) is not null)
                {
                    _wakeWhenParked.Add(runId);
                    return true;
                }
            }
            else
            {
                Resume(runId);
                return true;
            }
        }

        if (await _journal.GetRunAsync(runId, cancellationToken).ConfigureAwait(false) is not { Status: RunStatus.Waiting } run || !_runs.MayRun(run.Script))
        {
            return false;
        }

        Resume(runId);
        return true;
    }

    /// <summary>The run is resumed by other means (the API's resume): it is no longer parked.</summary>
    public void Forget(string runId)
    {
        lock (_gate)
        {
            _parked.Remove(runId);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopped = true;
            _parked.Clear();
        }

        _timer.Dispose();
    }

    private void WakeDue()
    {
        List<string> due;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            due = [.. _parked.Where(p => p.Value <= now).Select(p => p.Key)];
            foreach (var id in due)
            {
                _parked.Remove(id);
            }

            Reschedule();
        }

        foreach (var id in due)
        {
            Resume(id);
        }
    }

    /// <summary>Sets the one timer to the earliest due time (under the lock).</summary>
    private void Reschedule()
    {
        var next = _parked.Values.Where(d => d is not null).Min();
        var wait = next is { } at ? at - _time.GetUtcNow() : Timeout.InfiniteTimeSpan;
        _timer.Change(next is null ? Timeout.InfiniteTimeSpan : wait < TimeSpan.Zero ? TimeSpan.Zero : wait, Timeout.InfiniteTimeSpan);
    }

    private void Resume(string runId) => _ = ResumeAsync(runId);

    private async Task ResumeAsync(string runId)
    {
        try
        {
            await _runs.ResumeAsync(runId, force: false, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // E.g. its script changed: the run stays waiting, and `orchestrator resume --force` is the way on.
            _log.Warning("Waiting run {RunId} could not be resumed: {Error}", runId, ex.Message);
        }
    }
}
