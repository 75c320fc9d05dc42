using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;
using Xunit;

namespace Orchestrator.Tests.Strategies;

public sealed class MonitoringTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => _dir.Dispose();

    private const string FiftyCalls = """
        OnAnomaly(a => new { seen = a["metric"]!.GetValue<string>(), z = a["z"]!.GetValue<double>() });
        for (var i = 0; i < 50; i++)
        {
            await Agent("work").RunAsync(new { i }, name: "call");
        }

        return "done";
        """;

    [Fact]
    public async Task A_latency_spike_is_an_anomaly_in_the_journal_with_what_the_scripts_handler_did()
    {
        // One second a call, ten calls per monitor interval; calls 35 to 38 take eight seconds each.
        var work = new ClockAgent("work", _time, TimeSpan.FromSeconds(1)) { SlowFromCall = 35, SlowUntilCall = 38, SlowLatency = TimeSpan.FromSeconds(8) };
        var script = _dir.Write("spike.csx", FiftyCalls);

        var (outcome, steps) = await new EngineHarness(_time, Path.Combine(_dir.Path, "reports"), [work], []).RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        var anomalies = steps.Where(s => s.Kind == "anomaly").ToList();
        anomalies.Should().NotBeEmpty();
        anomalies.Should().Contain(a => a.Name == "latency_ms");
        var run = anomalies.First(a => a.Name == "latency_ms");
        run.Id.Should().StartWith("@monitor/anomaly-");
        run.Output!["value"]!.GetValue<double>().Should().BeGreaterThan(1000);
        run.Output["baseline"]!.GetValue<double>().Should().BeApproximately(1000, 1);
        run.Output["z"]!.GetValue<double>().Should().BeGreaterThan(3);
        run.Output["handled"]![0]!["seen"]!.GetValue<string>().Should().Be("latency_ms");
        anomalies.Should().Contain(a => a.Name == "agent:work:latency_ms");

        var report = await File.ReadAllTextAsync(outcome.ReportPath!);
        report.Should().Contain("## Anomalies").And.Contain("| latency_ms |");
    }

    [Fact]
    public async Task Runs_in_flight_together_share_the_engines_one_monitor_loop()
    {
        var gate = new GateAgent();
        var harness = new EngineHarness(_time, null, [gate], []);
        var script = _dir.Write("held.csx", """
            await Agent("gate").RunAsync(new { wait = "go" });
            return "done";
            """);
        using var program = Orchestrator.Scripting.CSharp.CSharpWorkflow.Compile(script, Serilog.Core.Logger.None);
        var monitor = harness.Engine.Monitor;

        var runs = Enumerable.Range(0, 3).Select(_ => harness.Engine.RunAsync(program, null, CancellationToken.None)).ToList();
        var started = Task.Run(async () =>
        {
            while (monitor.Watched < 3)
            {
                await Task.Delay(5);
            }
        });
        await started.WaitAsync(TimeSpan.FromSeconds(30));
        var (wakeups, ticks) = (monitor.Wakeups, monitor.Ticks);

        _time.Advance(Orchestrator.Core.Monitoring.MonitorOptions.Default.Interval);

        monitor.Wakeups.Should().Be(wakeups + 1, "one timer serves every run in flight");
        monitor.Ticks.Should().Be(ticks + 3, "each of the three runs got its sample from that one wake-up");
        await gate.RunAsync(new Orchestrator.Abstractions.AgentTask("test", "open", new System.Text.Json.Nodes.JsonObject { ["signal"] = "go" }), CancellationToken.None);
        foreach (var outcome in await Task.WhenAll(runs))
        {
            outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        }

        monitor.Watched.Should().Be(0, "a run leaves the loop when it ends");
    }

    [Fact]
    public async Task A_steady_run_has_no_anomaly()
    {
        var work = new ClockAgent("work", _time, TimeSpan.FromSeconds(1));
        var script = _dir.Write("steady.csx", FiftyCalls);

        var (outcome, steps) = await new EngineHarness(_time, null, [work], []).RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        work.Calls.Should().Be(50);
        steps.Should().NotContain(s => s.Kind == "anomaly");
    }

    [Fact]
    public async Task Without_a_script_handler_an_agents_latency_spike_isolates_it_so_work_goes_to_its_replica()
    {
        var work = new ClockAgent("work", _time, TimeSpan.FromSeconds(1)) { SlowFromCall = 35, SlowUntilCall = 38, SlowLatency = TimeSpan.FromSeconds(8) };
        var replica = new ClockAgent("work", _time, TimeSpan.FromSeconds(1));
        var script = _dir.Write("default.csx", FiftyCalls.Replace("OnAnomaly(", "// OnAnomaly(", StringComparison.Ordinal));

        var (outcome, steps) = await new EngineHarness(_time, null, [work, replica], []).RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        var anomaly = steps.First(s => s.Kind == "anomaly" && s.Name == "agent:work:latency_ms");
        anomaly.Output!["handled"]![0]!["action"]!.GetValue<string>().Should().Be("redistribute");
        anomaly.Output["handled"]![0]!["isolated"]!.GetValue<string>().Should().Be("work");
        anomaly.Output["handled"]![0]!["to"]!.GetValue<string>().Should().Be("work#2");
        replica.Calls.Should().BeGreaterThan(0, "the isolated primary's work went to its replica");
        (work.Calls + replica.Calls).Should().Be(50);
    }

    [Fact]
    public async Task A_failing_anomaly_handler_is_journaled_and_the_monitor_keeps_running()
    {
        // The calls yield, as real agents do, so that the script's event loop gets to run the handler between them.
        var work = new ClockAgent("work", _time, TimeSpan.FromSeconds(1)) { SlowFromCall = 25, SlowUntilCall = 26, SlowLatency = TimeSpan.FromSeconds(8), Hold = TimeSpan.FromMilliseconds(1) };
        var script = _dir.Write("throws.js", """
            onAnomaly((a) => { throw new Error("handler broke on " + a.metric); });
            for (let i = 0; i < 50; i++) {
              await agent("work").run({ i }, "call");
            }
            return "done";
            """);
        using var harness = new JavaScript.JsHarness(_time, work);

        var run = await harness.RunAsync(File.ReadAllText(script));

        run.Outcome.Run.Status.Should().Be(RunStatus.Succeeded, run.Outcome.Run.Error);
        var anomalies = run.Steps.Where(s => s.Kind == "anomaly").ToList();
        anomalies.Should().HaveCountGreaterThanOrEqualTo(2, "the run's and the agent's latency both spiked, and the first handler's failure stops neither");
        anomalies.Should().OnlyContain(a => a.Output!["handled"]![0]!["error"] != null);
        anomalies[0].Output!["handled"]![0]!["error"]!.GetValue<string>().Should().Contain("handler broke on");
    }

    [Fact]
    public async Task Baselines_kept_in_the_store_judge_the_first_samples_of_the_next_run()
    {
        var store = Path.Combine(_dir.Path, "store");
        var script = _dir.Write("twice.csx", FiftyCalls);
        using var program = Orchestrator.Scripting.CSharp.CSharpWorkflow.Compile(script, Serilog.Core.Logger.None);

        // A spike in the very first interval: no run can judge it on its own, it is still warming up.
        IReadOnlyList<StepRecord> Anomalies(IReadOnlyList<JournalEntry> entries) => [.. StepFolding.Fold(entries).Where(s => s.Kind == "anomaly")];
        var early = new ClockAgent("work", _time, TimeSpan.FromSeconds(1)) { SlowFromCall = 2, SlowUntilCall = 3, SlowLatency = TimeSpan.FromSeconds(8) };
        await using (var fresh = SqliteJournal.Open(Path.Combine(_dir.Path, "fresh")))
        {
            var outcome = await new Orchestrator.Core.Workflow.WorkflowEngine(fresh, new Orchestrator.Core.Workflow.AgentRegistry([early]), null, _time, Serilog.Core.Logger.None).RunAsync(program, null, CancellationToken.None);
            Anomalies(await fresh.GetEntriesAsync(outcome.Run.Id, CancellationToken.None)).Should().BeEmpty("a fresh store has no baseline yet");
        }

        await using var journal = SqliteJournal.Open(store);
        var steady = new ClockAgent("work", _time, TimeSpan.FromSeconds(1));
        var first = await new Orchestrator.Core.Workflow.WorkflowEngine(journal, new Orchestrator.Core.Workflow.AgentRegistry([steady]), null, _time, Serilog.Core.Logger.None).RunAsync(program, null, CancellationToken.None);
        Anomalies(await journal.GetEntriesAsync(first.Run.Id, CancellationToken.None)).Should().BeEmpty();
        (await journal.Learning.GetBaselinesAsync(CancellationToken.None))["latency_ms"].Mean.Should().BeApproximately(1000, 1);

        var spiky = new ClockAgent("work", _time, TimeSpan.FromSeconds(1)) { SlowFromCall = 2, SlowUntilCall = 3, SlowLatency = TimeSpan.FromSeconds(8) };
        var second = await new Orchestrator.Core.Workflow.WorkflowEngine(journal, new Orchestrator.Core.Workflow.AgentRegistry([spiky]), null, _time, Serilog.Core.Logger.None).RunAsync(program, null, CancellationToken.None);
        Anomalies(await journal.GetEntriesAsync(second.Run.Id, CancellationToken.None)).Should().Contain(a => a.Name == "latency_ms", "the first run's baseline judged the second run's first sample");

        var stats = await CliRunner.RunAsync("stats", "--store", store);
        stats.Stdout.Should().Contain("latency_ms").And.Contain("memory_mb");
    }

    [Fact]
    public async Task A_failure_the_run_absorbs_as_degraded_still_raises_an_error_rate_anomaly()
    {
        // Ten calls per interval, all succeeding, then call 35 fails: moderate severity, so the run goes on with a fallback.
        var work = new ClockAgent("work", _time, TimeSpan.FromSeconds(1)) { FailOnCall = 35 };
        var script = _dir.Write("degraded.csx", FiftyCalls.Replace("""new { i }, name: "call")""", """new { i }, name: "call", severity: Severity.Moderate, fallback: "skipped")""", StringComparison.Ordinal));

        var (outcome, steps) = await new EngineHarness(_time, null, [work], []).RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        steps.Should().Contain(s => s.Status == RunStatus.Degraded, "the failure was absorbed");
        steps.Should().Contain(s => s.Kind == "anomaly" && s.Name == "error_rate", "an absorbed failure is still a failure of the agent");
    }

    [Fact]
    public async Task A_second_slowdown_after_a_first_is_flagged_because_the_first_does_not_become_the_baseline()
    {
        var store = Path.Combine(_dir.Path, "store");
        var script = _dir.Write("thrice.csx", FiftyCalls);
        using var program = Orchestrator.Scripting.CSharp.CSharpWorkflow.Compile(script, Serilog.Core.Logger.None);
        await using var journal = SqliteJournal.Open(store);
        async Task<List<StepRecord>> RunAsync(ClockAgent agent)
        {
            var outcome = await new Orchestrator.Core.Workflow.WorkflowEngine(journal, new Orchestrator.Core.Workflow.AgentRegistry([agent]), null, _time, Serilog.Core.Logger.None).RunAsync(program, null, CancellationToken.None);
            outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
            return [.. StepFolding.Fold(await journal.GetEntriesAsync(outcome.Run.Id, CancellationToken.None)).Where(s => s.Kind == "anomaly" && s.Name == "latency_ms")];
        }

        (await RunAsync(new ClockAgent("work", _time, TimeSpan.FromSeconds(1)))).Should().BeEmpty("a steady run sets the baseline");
        TenfoldSpike().Should().NotBeNull();
        (await RunAsync(TenfoldSpike())).Should().NotBeEmpty("a tenfold slowdown is an anomaly");
        var baseline = (await journal.Learning.GetBaselinesAsync(CancellationToken.None))["latency_ms"];
        baseline.Mean.Should().BeLessThan(1500, "the spike was not folded into the baseline the next run starts from");

        var second = await RunAsync(TenfoldSpike());

        second.Should().NotBeEmpty("the second slowdown is judged against the steady baseline, not one that absorbed the first");
        second[0].Output!["baseline"]!.GetValue<double>().Should().BeApproximately(1000, 100, "the report shows the baseline the sample was judged against");

        ClockAgent TenfoldSpike() => new("work", _time, TimeSpan.FromSeconds(1)) { SlowFromCall = 2, SlowUntilCall = 4, SlowLatency = TimeSpan.FromSeconds(10) };
    }

    [Fact]
    public async Task A_run_shorter_than_one_interval_is_sampled_as_it_ends_and_feeds_the_baselines()
    {
        await using var journal = SqliteJournal.Open(Path.Combine(_dir.Path, "store"));
        var script = _dir.Write("short.csx", FiftyCalls.Replace("i < 50", "i < 3", StringComparison.Ordinal));
        using var program = Orchestrator.Scripting.CSharp.CSharpWorkflow.Compile(script, Serilog.Core.Logger.None);
        var work = new ClockAgent("work", _time, TimeSpan.FromSeconds(1));

        var outcome = await new Orchestrator.Core.Workflow.WorkflowEngine(journal, new Orchestrator.Core.Workflow.AgentRegistry([work]), null, _time, Serilog.Core.Logger.None).RunAsync(program, null, CancellationToken.None);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        work.Calls.Should().Be(3, "three seconds of work, well inside the 10-second interval");
        var baselines = await journal.Learning.GetBaselinesAsync(CancellationToken.None);
        baselines.Should().ContainKey("latency_ms").WhoseValue.Mean.Should().BeApproximately(1000, 1);
    }
}
