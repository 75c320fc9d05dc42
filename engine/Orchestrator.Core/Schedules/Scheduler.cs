using Cronos;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Runs;
using Serilog;

namespace Orchestrator.Core.Schedules;

/// <summary>
/// Starts the runs of a store's schedules in a host, on its <see cref="TimeProvider"/>. One timer, set to the next
/// occurrence of any schedule (and at least every <see cref="Rescan"/>, so that schedules added by the CLI are seen).
/// Occurrences missed while no host ran are caught up with one run, not one per occurrence; an occurrence that comes
/// while the schedule's previous run is still unfinished (in flight or waiting) is skipped. Several hosts may serve one
/// store (the nodes of a cluster): each occurrence is claimed in the store first, and only the host that claimed it starts it.
/// </summary>
internal sealed class Scheduler : IDisposable
{
    /// <summary>How often the schedules are read again at the least.</summary>
    public static readonly TimeSpan Rescan = TimeSpan.FromMinutes(1);

    private readonly RunManager _runs;
    private readonly IJournal _journal;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly ITimer _timer;
    private readonly SemaphoreSlim _ticking = new(1, 1);

    public Scheduler(RunManager runs, IJournal journal, TimeProvider time, ILogger log)
    {
        _runs = runs;
        _journal = journal;
        _time = time;
        _log = log;
        _timer = time.CreateTimer(_ => _ = TickSafelyAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Parses a cron expression of five fields (or six, with seconds first); throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static CronExpression Parse(string cron)
    {
        try
        {
            return CronExpression.Parse(cron, cron.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException ex)
        {
            throw new FormatException($"'{cron}' is not a cron expression: {ex.Message}", ex);
        }
    }

    /// <summary>The first look now, then on the timer.</summary>
    public void Start() => _timer.Change(TimeSpan.Zero, Rescan);

    /// <summary>Starts (or skips) what is due now, and sets the timer to the next occurrence.</summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        await _ticking.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            var next = now + Rescan;
            foreach (var schedule in await _journal.Schedules.ListAsync(cancellationToken).ConfigureAwait(false))
            {
                CronExpression cron;
                try
                {
                    cron = Parse(schedule.Cron);
                }
                catch (FormatException ex)
                {
                    _log.Warning("Schedule {Schedule}: {Error}", schedule.Name, ex.Message);
                    continue;
                }

                // The latest occurrence since the last one dealt with: a host that was down catches up once.
                var due = cron.GetOccurrences(schedule.LastOccurrence ?? schedule.CreatedAt, now, TimeZoneInfo.Utc, fromInclusive: false, toInclusive: true)
                    .Select(o => (DateTimeOffset?)o).LastOrDefault();
                if (due is { } occurrence)
                {
                    await StartAsync(schedule, occurrence, cancellationToken).ConfigureAwait(false);
                }

                if (cron.GetNextOccurrence(now, TimeZoneInfo.Utc) is { } upcoming && upcoming < next)
                {
                    next = upcoming;
                }
            }

            // Periodic as well: were a tick ever lost, the schedules are still read again within a minute.
            _timer.Change(next - now, Rescan);
        }
        finally
        {
            _ticking.Release();
        }
    }

    public void Dispose()
    {
        _timer.Dispose();
        _ticking.Dispose();
    }

    private async Task StartAsync(Schedule schedule, DateTimeOffset occurrence, CancellationToken cancellationToken)
    {
        // Every host on the store sees the occurrence due; only the one whose claim moves the schedule on deals with it.
        // Claimed before the run starts, so a host that dies in between loses the occurrence: at most one run each.
        if (!await _journal.Schedules.ClaimAsync(schedule.Name, schedule.LastOccurrence, occurrence, cancellationToken).ConfigureAwait(false))
        {
            _log.Debug("Schedule {Schedule}: the occurrence of {Occurrence} was taken by another host", schedule.Name, occurrence);
            return;
        }

        if (schedule.LastRunId is { } previous && await IsUnfinishedAsync(previous, cancellationToken).ConfigureAwait(false))
        {
            _log.Information("Schedule {Schedule}: the occurrence of {Occurrence} is skipped, run {RunId} has not finished", schedule.Name, occurrence, previous);
            return;
        }

        if (!_runs.MayRun(schedule.Script))
        {
            _log.Warning("Schedule {Schedule}: {Script} is outside the host's scripts folder; not started", schedule.Name, schedule.Script);
            return;
        }

        ActiveRun run;
        try
        {
            run = await _runs.StartAsync(schedule.Script, schedule.Input?.DeepClone(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A script that no longer compiles or is gone: said in the log, and tried again at the next occurrence.
            _log.Warning("Schedule {Schedule}: run of {Script} not started: {Error}", schedule.Name, schedule.Script, ex.Message);
            return;
        }

        _log.Information("Schedule {Schedule} started run {RunId} for {Occurrence}", schedule.Name, run.Id, occurrence);
        await _journal.Schedules.SetRunAsync(schedule.Name, occurrence, run.Id, cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> IsUnfinishedAsync(string runId, CancellationToken cancellationToken)
    {
        if (_runs.Find(runId) is not null)
        {
            return true;
        }

        var run = await _journal.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
        return run is { Status: RunStatus.Waiting } || (run is { Status: RunStatus.Running } && !RunLiveness.IsInterrupted(run, _journal.SharedAcrossMachines));
    }

    private async Task TickSafelyAsync()
    {
        try
        {
            await TickAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The host stopped.
        }
        catch (Exception ex)
        {
            _log.Warning(ex, "The scheduler could not read its schedules; it looks again in {Rescan}", Rescan);
            try
            {
                _timer.Change(Rescan, Rescan);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
