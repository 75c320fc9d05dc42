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
        var run = anomalies.Should().Contain(a => a.Name == "latency_ms").Subject;
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
}
