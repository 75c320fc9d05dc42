using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Orchestrator.Core.Health;
using Orchestrator.Core.Learning;
using Orchestrator.Core.Optimization;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Monitoring;

/// <summary>A script's (or the default) response to an anomaly; returns what it did, for the journal.</summary>
internal delegate Task<JsonNode?> AnomalyHandler(JsonObject anomaly, CancellationToken cancellationToken);

/// <summary>
/// Watches a run while it goes: on every interval (woken by the engine's <see cref="MonitorLoop"/>) it samples real metrics —
/// agent-step latency, throughput, error rate, queue depth, unhealthy agents, process CPU and memory — judges them
/// against baselines from earlier runs, and journals each anomaly with what its handlers did. On a longer interval it
/// runs the optimization loop. Ticks never overlap, and a tick that fails is logged; the next one runs as usual.
/// </summary>
internal sealed class RunMonitor : IAsyncDisposable
{
    private readonly WorkflowRun _run;
    private AnomalyDetector? _detector;
    private readonly Optimizer _optimizer;
    private readonly SemaphoreSlim _tick = new(1, 1);
    private readonly List<Task> _pending = [];
    private readonly MonitorLoop _loop;
    private DateTimeOffset _nextSample;
    private DateTimeOffset _nextOptimize;
    private MetricsSnapshot _previous;
    private TimeSpan _previousCpu = Process.GetCurrentProcess().TotalProcessorTime;
    private bool _stopped;

    private RunMonitor(WorkflowRun run, MonitorOptions options, MonitorLoop loop)
    {
        _run = run;
        _loop = loop;
        Options = options;
        _optimizer = new Optimizer(run);
        _previous = MetricsSnapshot.Empty(run.Time.GetTimestamp());
        var now = run.Time.GetUtcNow();
        _nextSample = now + options.Interval;
        _nextOptimize = now + options.OptimizeInterval;
    }

    public MonitorOptions Options { get; private set; }

    /// <summary>When the loop next has work for this run.</summary>
    internal DateTimeOffset NextDue => _nextSample < _nextOptimize ? _nextSample : _nextOptimize;

    /// <summary>
    /// Starts watching the run on <paramref name="loop"/>; the store's baselines are read at the first sample, so a run
    /// shorter than one interval costs no store access.
    /// </summary>
    public static RunMonitor Start(WorkflowRun run, MonitorOptions options, MonitorLoop loop)
    {
        var monitor = new RunMonitor(run, options.Validate(), loop);
        loop.Watch(monitor);
        return monitor;
    }

    /// <summary>Changes the intervals (from the script); the next tick comes one new interval from now.</summary>
    public void Reconfigure(MonitorOptions options)
    {
        Options = options.Validate();
        _loop.Reschedule(() =>
        {
            var now = _run.Time.GetUtcNow();
            _nextSample = now + options.Interval;
            _nextOptimize = now + options.OptimizeInterval;
        });
    }

    /// <summary>
    /// Called by the loop (under its lock): adds this run's due ticks to <paramref name="due"/> and moves its due times
    /// on by whole intervals, so ticks keep their cadence and one that was missed is skipped, not made up.
    /// </summary>
    internal void TakeDue(DateTimeOffset now, List<Action> due)
    {
        if (now >= _nextSample)
        {
            due.Add(() => Schedule(SampleAsync));
            _nextSample = After(_nextSample, Options.Interval, now);
        }

        if (now >= _nextOptimize)
        {
            due.Add(() => Schedule(_optimizer.TickAsync));
            _nextOptimize = After(_nextOptimize, Options.OptimizeInterval, now);
        }
    }

    private static DateTimeOffset After(DateTimeOffset due, TimeSpan interval, DateTimeOffset now)
    {
        do
        {
            due += interval;
        }
        while (due <= now);
        return due;
    }

    /// <summary>Stops the timers, lets a running tick finish, and keeps the baselines for later runs.</summary>
    public async ValueTask DisposeAsync()
    {
        Task[] pending;
        lock (_pending)
        {
            _stopped = true;
            pending = [.. _pending];
        }

        _loop.Forget(this);
        await Task.WhenAll(pending).ConfigureAwait(false);
        try
        {
            if (_run.Metrics.Snapshot().Since(_previous).Values.Any(a => a.Finished > 0))
            {
                await SampleAsync(final: true, CancellationToken.None).ConfigureAwait(false);
            }

            if (_detector is not null)
            {
                await _run.Learning.SaveBaselinesAsync(_detector.Baselines(), _run.Time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            _run.Log.Error("Monitor of run {RunId} could not save its baselines: {Error}", _run.Id, ex.Message);
        }

        _tick.Dispose();
    }

    private void Schedule(Func<CancellationToken, Task> work)
    {
        lock (_pending)
        {
            if (_stopped)
            {
                return;
            }

            _pending.RemoveAll(t => t.IsCompleted);
            _pending.Add(RunTickAsync(work));
        }
    }

    private async Task RunTickAsync(Func<CancellationToken, Task> work)
    {
        await _tick.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await work(_run.Cancellation).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _run.Log.Error("Monitor tick of run {RunId} failed; the monitor goes on: {Error}", _run.Id, ex.Message);
        }
        finally
        {
            _tick.Release();
        }
    }

    private Task SampleAsync(CancellationToken ct) => SampleAsync(final: false, ct);

    /// <summary>
    /// One sample. The last one, taken as the run ends, covers what happened since the one before (so a run shorter than
    /// an interval is still measured and feeds the baselines); its anomalies are journaled, but no handler runs: the
    /// script is over, and there is nothing left to redistribute or degrade.
    /// </summary>
    private async Task SampleAsync(bool final, CancellationToken ct)
    {
        _detector ??= new AnomalyDetector(Options, await _run.Learning.GetBaselinesAsync(ct).ConfigureAwait(false));
        var now = _run.Metrics.Snapshot();
        var elapsed = _run.Time.GetElapsedTime(_previous.Timestamp, now.Timestamp);
        var perAgent = now.Since(_previous);
        _previous = now;
        var total = perAgent.Values.Aggregate(AgentCounts.Zero, (sum, a) => sum.Plus(a));
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var cpuPercent = elapsed > TimeSpan.Zero ? (cpu - _previousCpu) / elapsed / Environment.ProcessorCount * 100 : 0;
        _previousCpu = cpu;

        var sample = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["throughput_per_s"] = elapsed > TimeSpan.Zero ? total.Finished / elapsed.TotalSeconds : 0,
            ["queue_depth"] = now.InFlight + _run.Phases.Values.Sum(p => Math.Max(0, p.Remaining - p.Limit.InUse)),
            // From the circuits of the agents that were called: asking every registered kind for its providers would load
            // every plugin the manifest defers, which a run that never called them should not pay for.
            ["unhealthy_agents"] = _run.Health.Circuits.Count(c => c.State == AgentHealthState.Unhealthy),
            ["cpu_percent"] = cpuPercent,
            ["memory_mb"] = Environment.WorkingSet / (1024.0 * 1024.0),
        };
        if (total.MeanMs is { } latency)
        {
            sample["latency_ms"] = latency;
            sample["error_rate"] = total.ErrorRate!.Value;
        }

        foreach (var (agent, counts) in perAgent.Where(a => a.Value.Finished > 0).OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            sample[$"agent:{agent}:latency_ms"] = counts.MeanMs!.Value;
        }

        _run.Log.Debug("Monitor sample of run {RunId}: {@Sample}", _run.Id, sample);
        foreach (var (metric, value) in sample)
        {
            // Every metric gets a baseline; only latency and errors, the run's own doing, raise anomalies:
            // CPU, memory and throughput depend as much on the machine and on what else it runs.
            var judged = _detector.Observe(metric, value);
            if (judged.Z is { } z && (metric.EndsWith("latency_ms", StringComparison.Ordinal) || metric == "error_rate"))
            {
                await RaiseAsync(metric, value, judged.Baseline ?? 0, z, final, ct).ConfigureAwait(false);
            }
        }
    }

    private async Task RaiseAsync(string metric, double value, double mean, double z, bool final, CancellationToken ct)
    {
        var agent = metric.StartsWith("agent:", StringComparison.Ordinal) ? metric[6..metric.LastIndexOf(':')] : null;
        var anomaly = new JsonObject
        {
            ["metric"] = metric,
            ["agent"] = agent,
            ["value"] = Math.Round(value, 3),
            ["baseline"] = Math.Round(mean, 3),
            ["z"] = Math.Round(z, 2),
            ["at"] = _run.Time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
        };
        _run.Log.Warning("Anomaly in run {RunId}: {Metric} = {Value} against a baseline of {Baseline} (z {Z})", _run.Id, metric, value, mean, z);

        var handled = new JsonArray();
        AnomalyHandler[] handlers;
        lock (_run.AnomalyHandlers)
        {
            handlers = final ? [] : _run.AnomalyHandlers.Count > 0 ? [.. _run.AnomalyHandlers] : [DefaultHandlerAsync];
        }

        if (final)
        {
            handled.Add(new JsonObject { ["action"] = "none", ["reason"] = "found by the run's last sample, as it ended" });
        }

        foreach (var handler in handlers)
        {
            try
            {
                handled.Add(await handler(anomaly.DeepClone().AsObject(), ct).ConfigureAwait(false));
            }
            catch (Exception ex)
            {
                // Even a handler cut short by the end of the run or of its script leaves the anomaly journaled.
                _run.Log.Error("Anomaly handler of run {RunId} failed: {Error}", _run.Id, ex.Message);
                handled.Add(new JsonObject { ["error"] = ex.Message });
            }
        }

        var output = anomaly.DeepClone().AsObject();
        output["handled"] = handled;
        await _run.RecordEventAsync("anomaly", metric, anomaly, output).ConfigureAwait(false);
    }

    /// <summary>
    /// Without a script handler: when an agent kind's latency spikes and the kind has a healthy replica, the provider
    /// that has been serving it (the first healthy one) is isolated for a circuit break, so its work goes to the
    /// replica (redistribute); otherwise the running phases halve their concurrency (degrade).
    /// </summary>
    private async Task<JsonNode?> DefaultHandlerAsync(JsonObject anomaly, CancellationToken ct)
    {
        if (anomaly["agent"]?.GetValue<string>() is { } agent)
        {
            var healthy = _run.Agents.FindProviders(agent).Where(p => _run.Health.StateOf(p.Id) != AgentHealthState.Unhealthy).ToList();
            if (healthy.Count > 1)
            {
                await _run.Health.For(healthy[0].Id).IsolateAsync(ct).ConfigureAwait(false);
                return new JsonObject { ["action"] = "redistribute", ["isolated"] = healthy[0].Id, ["to"] = healthy[1].Id };
            }
        }

        var degraded = new JsonArray();
        foreach (var phase in _run.Phases.Values)
        {
            var limit = phase.Limit.Limit;
            if (limit > 1)
            {
                phase.Limit.SetLimit(limit / 2);
                degraded.Add(new JsonObject { ["phase"] = phase.Id, ["concurrency"] = limit / 2 });
            }
        }

        return new JsonObject { ["action"] = "degrade", ["phases"] = degraded };
    }
}
