using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;
using Serilog;

namespace Orchestrator.Core.Runs;

/// <summary>
/// Starts, resumes, cancels and lists the runs one process drives over one engine, many at once. Each run gets its
/// own ordered event stream (<see cref="RunEventStream"/>) whose observers are made from the manager's factories;
/// a run leaves the manager when it ends, and then lives on in the journal alone.
/// </summary>
internal sealed class RunManager(WorkflowEngine engine, IJournal journal, IProgramSource programs, ILogger log, TimeProvider? time = null) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ActiveRun> _active = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private ParkedRuns? _parked;

    /// <summary>The runs that ended waiting: parked, holding nothing, resumed when their wait may have ended.</summary>
    public ParkedRuns Parked => _parked ??= new ParkedRuns(this, journal, time ?? TimeProvider.System, log);

    /// <summary>The one monitor and optimization loop watching every run in flight here.</summary>
    public Monitoring.MonitorLoop Monitor => engine.Monitor;

    /// <summary>What every run's stream tells as it goes (telemetry, the host's counters); a factory may decline a run by returning null.</summary>
    public IReadOnlyList<Func<RunStart, IRunObserver?>> Observers { get; init; } = [];

    /// <summary>Whether this manager may run a script of its own accord (a waiting run it continues); a host allows its scripts folder only.</summary>
    public Func<string, bool> MayRun { get; init; } = _ => true;

    /// <summary>
    /// Takes a run for this process before it is resumed here (a cluster node: the run's lease); false when another
    /// process drives it. Null: nothing to take (the store has one host).
    /// </summary>
    public Func<string, CancellationToken, Task<bool>>? Claim { get; init; }

    /// <summary>The runs in flight now.</summary>
    public IReadOnlyCollection<ActiveRun> InFlight => [.. _active.Values];

    public ActiveRun? Find(string runId) => _active.TryGetValue(runId, out var run) ? run : null;

    /// <summary>
    /// Compiles (or takes the warm program of) <paramref name="scriptPath"/> and starts a run of it; returns once the
    /// run is journaled, while it goes on. Throws what the program source throws for a script that does not compile.
    /// </summary>
    public async Task<ActiveRun> StartAsync(string scriptPath, JsonNode? input, CancellationToken cancellationToken)
    {
        var program = await Task.Run(() => programs.Get(scriptPath, cancellationToken), cancellationToken).ConfigureAwait(false);
        return await LaunchAsync((options, ct) => engine.RunAsync(program, input, ct, options)).ConfigureAwait(false);
    }

    /// <summary>
    /// Resumes an interrupted, cancelled or failed run; throws <see cref="ResumeRefusedException"/> when it cannot be
    /// (no such run, it succeeded, it is still running, its script changed without <paramref name="force"/>).
    /// </summary>
    public async Task<ActiveRun> ResumeAsync(string runId, bool force, CancellationToken cancellationToken)
    {
        var record = await journal.GetRunAsync(runId, cancellationToken).ConfigureAwait(false)
            ?? throw new ResumeRefusedException($"no run with id '{runId}'");
        // On a cluster node the run's lease decides (a dead node on another machine leaves its runs to be taken over);
        // otherwise a run another machine records as running on a shared store is taken to be running.
        if (_active.ContainsKey(runId) || (record.Status == RunStatus.Running && !RunLiveness.IsInterrupted(record, Claim is null && journal.SharedAcrossMachines)))
        {
            throw new ResumeRefusedException($"run {runId} is still running; cancel it first");
        }

        if (Claim is { } claim && !await claim(runId, cancellationToken).ConfigureAwait(false))
        {
            throw new ResumeRefusedException($"run {runId} is driven by another node");
        }

        var program = await Task.Run(() => programs.Get(record.Script, cancellationToken), cancellationToken).ConfigureAwait(false);
        _parked?.Forget(runId);
        return await LaunchAsync((options, ct) => engine.ResumeAsync(program, runId, force, ct, options)).ConfigureAwait(false);
    }

    /// <summary>Asks a run in flight to stop; it ends cancelled, and can be resumed. False if it is not in flight here.</summary>
    public bool Cancel(string runId)
    {
        if (!_active.TryGetValue(runId, out var run))
        {
            return false;
        }

        run.Cancel();
        return true;
    }

    /// <summary>Cancels every run in flight and waits until each has journaled its end: they are left resumable.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _parked?.Dispose();
        var running = _active.Values.Select(r => (Task)r.Completion).ToArray();
        try
        {
            await Task.WhenAll(running).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            log.Warning(ex, "A run failed while the run manager stopped");
        }

        _stopping.Dispose();
    }

    private async Task<ActiveRun> LaunchAsync(Func<RunOptions, CancellationToken, Task<RunOutcome>> execute)
    {
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        var stream = new RunEventStream(Observers);
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        var started = new TaskCompletionSource<ActiveRun>(TaskCreationOptions.RunContinuationsAsynchronously);
        ActiveRun? active = null;
        var options = new RunOptions
        {
            OnEvent = stream.Publish,
            OnStarted = (record, lastSeq) =>
            {
                stream.Start(record, lastSeq);
                active = new ActiveRun(record, stream, cancellation) { ResumedAfter = lastSeq };
                _active[record.Id] = active;
                started.TrySetResult(active);
            },
        };

        var driving = Task.Run(async () =>
        {
            RunOutcome outcome;
            try
            {
                outcome = await execute(options, cancellation.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (active is not null)
            {
                // The engine journals every run's end itself; only a store that fails under it gets here, or a cluster
                // node whose run was taken over by another (its journal refuses this node's writes from then on).
                if (ex is Journal.Postgres.RunNotHeldException)
                {
                    log.Warning("Run {RunId} stopped here: {Reason}", active.Id, ex.Message);
                }
                else
                {
                    log.Error(ex, "Run {RunId} stopped without an end", active.Id);
                }

                stream.Finish(new RunEnd(active.Id, RunStatus.Failed, ex.Message, null, 0, null, null, null));
                _active.TryRemove(active.Id, out _);
                active.Failed(ex);
                throw;
            }
            finally
            {
                cancellation.Dispose();
            }

            stream.Finish(RunEnd.From(outcome));
            if (outcome.Waiting is { } wait)
            {
                Parked.Park(outcome.Run.Id, wait.DueAt, () => _active.TryRemove(outcome.Run.Id, out _));
            }
            else
            {
                _active.TryRemove(outcome.Run.Id, out _);
            }

            active?.Ended(outcome);
            return outcome;
        });

        if (await Task.WhenAny(started.Task, driving).ConfigureAwait(false) == driving && !started.Task.IsCompleted)
        {
            await driving.ConfigureAwait(false); // throws why it never started (a refused resume)
            throw new InvalidOperationException("The run ended before it started.");
        }

        return await started.Task.ConfigureAwait(false);
    }
}

/// <summary>A run in flight in a <see cref="RunManager"/>.</summary>
internal sealed class ActiveRun
{
    private readonly CancellationTokenSource _cancellation;
    private readonly TaskCompletionSource<RunOutcome> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal ActiveRun(RunRecord record, RunEventStream events, CancellationTokenSource cancellation)
    {
        Record = record;
        Events = events;
        _cancellation = cancellation;
    }

    public string Id => Record.Id;

    /// <summary>The run as it was when this attempt started.</summary>
    public RunRecord Record { get; }

    public RunEventStream Events { get; }

    /// <summary>The sequence number of the run's last journaled event before this attempt; 0 for a new run.</summary>
    public long ResumedAfter { get; init; }

    /// <summary>Completes with the run's outcome once it has ended and its report is written.</summary>
    public Task<RunOutcome> Completion => _done.Task;

    public void Cancel()
    {
        try
        {
            _cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // It ended meanwhile.
        }
    }

    internal void Ended(RunOutcome outcome) => _done.TrySetResult(outcome);

    internal void Failed(Exception error) => _done.TrySetException(error);
}
