using System.Diagnostics;
using Npgsql;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Journal.Postgres;
using Orchestrator.Core.Plugins;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.JavaScript;
using Serilog.Core;

namespace Orchestrator.Bench.Scenarios;

/// <summary>
/// Measures whole scenarios, each as the median of its repeats after a warm-up. Every figure is taken in this
/// run on this machine: the raw floor and the engine's figures come from the same process, so their ratio is fair.
/// </summary>
internal sealed class ScenarioRunner(ScenarioSettings settings, string workDirectory, TextWriter progress)
{
    private readonly AgentRegistry _agents = new([new NoOpAgent()]);

    public async Task<ScenarioResults> RunAllAsync(CancellationToken cancellationToken)
    {
        // Plugins first, so that "first load" really is this process's first.
        var (pluginFirst, pluginLater) = settings.Includes("plugin") ? MeasurePluginLoads() : default((double?, double?));

        // The separate processes next, while this one is idle: its tiering and collections after the in-process
        // scenarios would take the cores from the process being timed.
        var (cold, warm, hosted) = settings.Includes("csx") ? await MeasureCsxAsync(cancellationToken) : default((double?, double?, double?));
        var scale = settings.Includes("scale") ? await new ScaleScenarios(settings, workDirectory, progress).MeasureAsync(cancellationToken) : null;
        var chainSteps = settings.Chains * settings.StepsPerChain;
        var raw = await PerStepAsync("raw", "raw async", RawChainsAsync, chainSteps, cancellationToken);
        var inMemory = await PerStepAsync("inmem", "in-memory journal", ct => EngineChainsAsync(new InMemoryJournal(), ct), chainSteps, cancellationToken);
        var durable = await PerStepAsync("durable", "SQLite journal", DurableChainsAsync, chainSteps, cancellationToken);
        var pgDurable = settings.Postgres is null ? null : await PerStepAsync("pgdurable", "PostgreSQL journal", PostgresChainsAsync, chainSteps, cancellationToken);
        var cluster = settings.Postgres is not null && settings.Includes("cluster") ? await new ClusterScenario(settings, progress).MeasureAsync(cancellationToken) : null;
        var chain = settings.Includes("chain") ? ChainScenario.NanosecondsPerStep(settings, progress) : default(double?);
        var js = await PerStepAsync("js", "JavaScript", JavaScriptStepsAsync, settings.JsSteps, cancellationToken);
        var memory = settings.Includes("memory") ? await MemoryGrowthAsync(cancellationToken) : default(double?);
        return new ScenarioResults(raw, inMemory, durable, js, cold, warm, hosted, pluginFirst, pluginLater, memory)
        {
            Scale = scale,
            ChainNsPerStep = chain,
            PgDurableUsPerStep = pgDurable,
            Cluster = cluster,
            PgDurableNote = settings.Postgres is null && settings.Includes("pgdurable")
                ? $"no PostgreSQL server: set {ScenarioSettings.PostgresVariable} or pass --postgres CONNECTION (build/start-test-postgres.sh starts one)"
                : null,
        };
    }

    /// <summary>The floor: the same chains of awaited no-op calls, no engine.</summary>
    private async Task RawChainsAsync(CancellationToken cancellationToken)
    {
        var chains = new Task[settings.Chains];
        for (var i = 0; i < chains.Length; i++)
        {
            chains[i] = Task.Run(
                async () =>
                {
                    for (var step = 0; step < settings.StepsPerChain; step++)
                    {
                        await NoOp.CallAsync().ConfigureAwait(false);
                    }
                },
                cancellationToken);
        }

        await Task.WhenAll(chains).ConfigureAwait(false);
    }

    private async Task EngineChainsAsync(IJournal journal, CancellationToken cancellationToken)
    {
        var engine = new WorkflowEngine(journal, _agents, reports: null, TimeProvider.System, Logger.None);
        var outcome = await engine.RunAsync(new ChainsWorkflow(settings.Chains, settings.StepsPerChain), input: null, cancellationToken).ConfigureAwait(false);
        Require(outcome, settings.Chains * (settings.StepsPerChain + 1) + 1);
    }

    private async Task DurableChainsAsync(CancellationToken cancellationToken)
    {
        var store = Path.Combine(workDirectory, "durable-" + Guid.NewGuid().ToString("N"));
        await using (var journal = SqliteJournal.Open(store))
        {
            await EngineChainsAsync(journal, cancellationToken).ConfigureAwait(false);
        }

        Directory.Delete(store, recursive: true);
    }

    /// <summary>The durable scenario on PostgreSQL: a fresh schema per run, dropped after, so every run starts from empty tables as SQLite's does.</summary>
    private async Task PostgresChainsAsync(CancellationToken cancellationToken)
    {
        var schema = "bench_" + Guid.NewGuid().ToString("N")[..12];
        await using var admin = NpgsqlDataSource.Create(settings.Postgres!);
        await using (var create = admin.CreateCommand($"CREATE SCHEMA {schema}"))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var store = new NpgsqlConnectionStringBuilder(settings.Postgres) { SearchPath = schema }.ConnectionString;
            await using var journal = await Task.Run(() => PostgresJournal.Open(store), cancellationToken).ConfigureAwait(false);
            await EngineChainsAsync(journal, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await using var drop = admin.CreateCommand($"DROP SCHEMA {schema} CASCADE");
            await drop.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task JavaScriptStepsAsync(CancellationToken cancellationToken)
    {
        var script = Path.Combine(workDirectory, "steps.js");
        if (!File.Exists(script))
        {
            await File.WriteAllTextAsync(script, $"for (let i = 0; i < {settings.JsSteps}; i++) {{ await agent(\"noop\").run(null); }}\nreturn {settings.JsSteps};\n", cancellationToken).ConfigureAwait(false);
        }

        var program = JavaScriptWorkflow.Compile(script, JavaScriptOptions.Default, Logger.None);
        var engine = new WorkflowEngine(new InMemoryJournal(), _agents, reports: null, TimeProvider.System, Logger.None);
        Require(await engine.RunAsync(program, input: null, cancellationToken).ConfigureAwait(false), settings.JsSteps);
    }

    /// <summary>Median wall time of one scenario run, in µs per step; null when the scenario is left out.</summary>
    private async Task<double?> PerStepAsync(string scenarioName, string name, Func<CancellationToken, Task> scenario, int steps, CancellationToken cancellationToken)
    {
        if (!settings.Includes(scenarioName))
        {
            return null;
        }

        // Until tiered compilation has settled, as it has in any host that runs for long: a steady state, not the JIT, is measured.
        var warming = Stopwatch.GetTimestamp();
        do
        {
            await scenario(cancellationToken).ConfigureAwait(false);
        }
        while (Stopwatch.GetElapsedTime(warming) < settings.WarmUp);

        var samples = new List<double>();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        int[] collections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        var paused = GC.GetTotalPauseDuration();
        for (var i = 0; i < settings.Repeats; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await scenario(cancellationToken).ConfigureAwait(false);
            samples.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds / steps);
        }

        var bytesPerStep = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / ((double)steps * settings.Repeats);
        var median = Median(samples);
        var gcs = string.Join("/", collections.Select((before, generation) => GC.CollectionCount(generation) - before));
        progress.WriteLine($"{name}: {median:0.000} µs per step (median of {samples.Count}), {bytesPerStep:0} bytes allocated per step, {gcs} collections of generation 0/1/2 pausing {(GC.GetTotalPauseDuration() - paused).TotalMilliseconds / samples.Count:0.0} ms per run, {ThreadPool.ThreadCount} pool threads");
        return median;
    }

    /// <summary>Loads the shell agent's plugin into a fresh host, first cold and then again and again (each host unloaded after).</summary>
    private (double First, double Later) MeasurePluginLoads()
    {
        var source = Path.Combine(PluginHost.DefaultDirectory, "Orchestrator.Agents.Shell");
        if (!Directory.Exists(source))
        {
            throw new InvalidOperationException($"the standard plugins are not beside the bench ({source}); build it first");
        }

        var directory = Path.Combine(workDirectory, "plugins");
        CopyDirectory(source, Path.Combine(directory, "Orchestrator.Agents.Shell"));
        var first = LoadPluginOnce(directory);
        var later = Enumerable.Range(0, settings.PluginLoads).Select(_ => LoadPluginOnce(directory)).ToList();
        progress.WriteLine($"plugin load: first {first:0.0} ms, later {Median(later):0.00} ms (median of {later.Count})");
        return (first, Median(later));
    }

    private static double LoadPluginOnce(string directory)
    {
        var started = Stopwatch.GetTimestamp();
        using var host = PluginHost.Load([directory], Logger.None);
        var agent = host.FindAgent("shell") ?? throw new InvalidOperationException($"the shell agent did not load from {directory}: {string.Join("; ", host.Errors.Select(e => e.Message))}");
        GC.KeepAlive(agent);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    /// <summary>Managed plus native growth over many finished runs, after a warm-up: what a long-lived host keeps per run.</summary>
    private async Task<double> MemoryGrowthAsync(CancellationToken cancellationToken)
    {
        var journal = new InMemoryJournal();
        var engine = new WorkflowEngine(journal, _agents, reports: null, TimeProvider.System, Logger.None);
        var program = new SmallWorkflow();
        await RunManyAsync(settings.MemoryWarmupRuns).ConfigureAwait(false);
        var before = MemorySnapshot.Take();
        await RunManyAsync(settings.MemoryRuns).ConfigureAwait(false);
        var after = MemorySnapshot.Take();
        var growth = after.GrowthSince(before);
        progress.WriteLine($"memory: {growth:0.00} MB growth over {settings.MemoryRuns} runs (managed {(after.Managed - before.Managed) / 1048576.0:0.00} MB, native {(after.Native - before.Native) / 1048576.0:0.00} MB)");
        return growth;

        async Task RunManyAsync(int runs)
        {
            for (var i = 1; i <= runs; i++)
            {
                Require(await engine.RunAsync(program, input: null, cancellationToken).ConfigureAwait(false), 7);

                // Retention keeps the journal bounded, as `orchestrator runs prune` does for a store.
                if (i % 100 == 0)
                {
                    await journal.PruneAsync(startedBefore: null, keepNewest: 100, cancellationToken).ConfigureAwait(false);
                }
            }

            await journal.PruneAsync(startedBefore: null, keepNewest: 100, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Wall time of separate <c>orchestrator run</c> processes: cold with an empty store (so an empty compile cache), warm
    /// with the store the cold run left, and hosted: submitted to a warm <c>orchestrator serve</c> on that store.
    /// </summary>
    private async Task<(double Cold, double Warm, double Hosted)> MeasureCsxAsync(CancellationToken cancellationToken)
    {
        var script = Path.GetFullPath(settings.CsxScript);
        if (!File.Exists(script))
        {
            throw new FileNotFoundException($"the csx scenario's script is missing: {script}", script);
        }

        var cold = new List<double>();
        string store = "";
        for (var i = 0; i < settings.CsxColdRuns; i++)
        {
            store = Path.Combine(workDirectory, "csx-" + Guid.NewGuid().ToString("N"));
            cold.Add(await OrchestratorRun.TimeAsync(script, store, workDirectory, cancellationToken).ConfigureAwait(false));
        }

        var warm = new List<double>();
        for (var i = 0; i < settings.CsxWarmRuns; i++)
        {
            warm.Add(await OrchestratorRun.TimeAsync(script, store, workDirectory, cancellationToken).ConfigureAwait(false));
        }

        var hosted = new List<double>();
        using (var server = await OrchestratorServe.StartAsync(store, Path.GetDirectoryName(script)!, workDirectory, cancellationToken).ConfigureAwait(false))
        {
            // The first submission warms the host up (script compiled or loaded, plugins first used); later runs find it warm.
            // Timed as the installed tool runs it: the native launcher, which relays the run the host renders.
            await OrchestratorRun.TimeAsync(script, store, workDirectory, cancellationToken, OrchestratorRun.Launcher).ConfigureAwait(false);
            for (var i = 0; i < settings.CsxWarmRuns; i++)
            {
                hosted.Add(await OrchestratorRun.TimeAsync(script, store, workDirectory, cancellationToken, OrchestratorRun.Launcher).ConfigureAwait(false));
            }

            await server.RequireServedAsync(settings.CsxWarmRuns + 1, cancellationToken).ConfigureAwait(false);
        }

        progress.WriteLine($"csx: cold {Median(cold):0} ms (median of {cold.Count}), warm {Median(warm):0} ms (median of {warm.Count}), through a warm host {Median(hosted):0} ms (median of {hosted.Count}), with {Path.GetRelativePath(AppContext.BaseDirectory, OrchestratorRun.Cli)} and {Path.GetRelativePath(AppContext.BaseDirectory, OrchestratorRun.Launcher ?? OrchestratorRun.Cli)}");
        return (Median(cold), Median(warm), Median(hosted));
    }

    private static void Require(RunOutcome outcome, int steps)
    {
        if (outcome.Run.Status != RunStatus.Succeeded || outcome.Steps < steps)
        {
            throw new InvalidOperationException($"a benchmark run did not do its work: {outcome.Run.Status}, {outcome.Steps} steps, {outcome.Run.Error}");
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    internal static double Median(IReadOnlyCollection<double> samples)
    {
        var sorted = samples.Order().ToArray();
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}

/// <summary>Managed heap (after a full, compacting collection) and the rest of the process's private memory.</summary>
internal readonly record struct MemorySnapshot(long Managed, long Native)
{
    public static MemorySnapshot Take()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var managed = GC.GetTotalMemory(forceFullCollection: true);
        using var process = Process.GetCurrentProcess();
        var committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
        return new MemorySnapshot(managed, Math.Max(0, process.PrivateMemorySize64 - committed));
    }

    /// <summary>Growth in MB; a part that shrank counts as zero, not as credit against the other.</summary>
    public double GrowthSince(MemorySnapshot before) =>
        (Math.Max(0, Managed - before.Managed) + Math.Max(0, Native - before.Native)) / 1048576.0;
}

/// <summary>
/// <c>orchestrator serve</c> of the built CLI on a store, for the hosted runs: <c>orchestrator run</c> finds it through
/// the store's host.json and submits to it. Killed when disposed.
/// </summary>
internal sealed class OrchestratorServe : IDisposable
{
    private readonly Process _process;
    private readonly string _store;

    private OrchestratorServe(Process process, string store)
    {
        _process = process;
        _store = store;
    }

    public static async Task<OrchestratorServe> StartAsync(string store, string scripts, string workingDirectory, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(OrchestratorRun.Muxer) { WorkingDirectory = workingDirectory, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { OrchestratorRun.Cli, "serve", "--store", store, "--scripts", scripts, "--urls", "http://127.0.0.1:0" })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start orchestrator serve");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new OrchestratorServe(process, store);
        var waited = Stopwatch.StartNew();
        while (!File.Exists(Path.Combine(store, "host.json")))
        {
            if (process.HasExited || waited.Elapsed > TimeSpan.FromMinutes(1))
            {
                server.Dispose();
                throw new InvalidOperationException("orchestrator serve did not start on " + store);
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        return server;
    }

    /// <summary>Proves the timed runs went through the host: the journal records its process for each.</summary>
    public async Task RequireServedAsync(int runs, CancellationToken cancellationToken)
    {
        await using var journal = SqliteJournal.Open(_store);
        var served = (await journal.ListRunsAsync(cancellationToken).ConfigureAwait(false)).Count(r => r.Pid == _process.Id);
        if (served != runs)
        {
            throw new InvalidOperationException($"the host ran {served} of the {runs} runs submitted to it");
        }
    }

    public void Dispose()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _process.Dispose();
    }
}

/// <summary>One <c>orchestrator run</c> of the built CLI (beside the bench), timed from start to exit.</summary>
internal static class OrchestratorRun
{
    public static string Muxer => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } muxer && File.Exists(muxer) ? muxer : "dotnet";

    /// <summary>The ReadyToRun CLI a Release build of the bench publishes to <c>cli/</c>; else the plain build beside the bench.</summary>
    public static string Cli =>
        Path.Combine(AppContext.BaseDirectory, "cli", "orchestrator.dll") is var published && File.Exists(published)
            ? published
            : Path.Combine(AppContext.BaseDirectory, "orchestrator.dll");

    /// <summary>The native launcher the tool installs as <c>orchestrator</c>, beside the ReadyToRun CLI (Release builds); else null.</summary>
    public static string? Launcher =>
        Path.Combine(AppContext.BaseDirectory, "cli", "orchestrator-launcher") is var launcher && File.Exists(launcher) ? launcher : null;

    /// <summary>Times <c>orchestrator run</c>: <c>dotnet orchestrator.dll</c>, or <paramref name="launcher"/> when there is one.</summary>
    public static async Task<double> TimeAsync(string script, string store, string workingDirectory, CancellationToken cancellationToken, string? launcher = null)
    {
        var cli = launcher ?? Cli;
        var info = new ProcessStartInfo(launcher ?? Muxer)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (launcher is null)
        {
            info.ArgumentList.Add(cli);
        }

        foreach (var arg in new[] { "run", script, "--store", store, "--json" })
        {
            info.ArgumentList.Add(arg);
        }

        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + cli);
        var stdout = OnOwnThread(process.StandardOutput.ReadToEnd);
        var stderr = OnOwnThread(process.StandardError.ReadToEnd);
        using var kill = cancellationToken.Register(() => process.Kill(entireProcessTree: true));
        var exitCode = await OnOwnThread(() =>
        {
            process.WaitForExit();
            return process.ExitCode;
        }).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"orchestrator run {script} exited with {exitCode}: {await stderr.ConfigureAwait(false)}{await stdout.ConfigureAwait(false)}");
        }

        return elapsed;
    }

    // Pipe reads and the wait for the exit block a thread on this platform: on pool threads, the timed processes
    // leave this process's pool with a dozen threads instead of three, and the in-process scenarios after them
    // would measure a crowded pool (inmem up to half as high again).
    private static Task<T> OnOwnThread<T>(Func<T> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}
