using System.Text.Json.Nodes;
using Orchestrator.Bench.Scenarios;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Bench;

/// <summary>
/// The scenarios command on a tiny configuration (the real one takes minutes: run it with
/// <c>dotnet run -c Release --project bench/Orchestrator.Bench -- scenarios --json --quick</c>).
/// </summary>
public sealed class ScenariosTests : IDisposable
{
    private static readonly string[] Fields =
    [
        "raw_async_us_per_step", "inmem_us_per_step", "durable_us_per_step", "pg_durable_us_per_step", "chain_ns_per_step", "js_us_per_step", "csx_cold_ms", "csx_warm_ms", "host_run_ms",
        "plugin_load_first_ms", "plugin_load_ms", "memory_growth_mb", "steps_1m_peak_rss_mb", "steps_1m_us_per_step", "steps_10k_us_per_step",
        "report_1m_ms", "report_1m_kb", "steps_1m_js_peak_rss_mb", "steps_1m_js_us_per_step", "steps_10k_js_us_per_step", "fanout_outputs_journal_ratio", "fanout_peak_rss_mb",
    ];

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Every_scenario_runs_and_its_figure_is_in_one_json_line()
    {
        var script = _dir.Write("tiny.csx", "return await Step(\"one\", () => 1);");
        var settings = new ScenarioSettings
        {
            Chains = 4, StepsPerChain = 3, JsSteps = 5, Repeats = 1, CsxColdRuns = 1, CsxWarmRuns = 1, PluginLoads = 2,
            MemoryWarmupRuns = 2, MemoryRuns = 5, CsxScript = script, WarmUp = TimeSpan.Zero, ScaleChains = 3, ScaleStepsPerChain = 4, FanOutBytes = 5_000,
        };
        using var progress = new StringWriter();

        var results = await ScenariosCommand.MeasureAsync(settings.Validated(), progress, CancellationToken.None);
        var line = results.ToJsonLine(quick: true, elapsedSeconds: 1);

        line.Should().NotContain("\n");
        var json = JsonNode.Parse(line)!.AsObject();
        foreach (var field in Fields)
        {
            json[field].Should().NotBeNull(field);
            json[field]!.GetValue<double>().Should().BeGreaterThanOrEqualTo(0, field);
        }

        // Growth may be none, and the chain's cost is a difference of processor times that so short a run cannot resolve.
        Fields.Except(["memory_growth_mb", "chain_ns_per_step"]).Should().OnlyContain(f => json[f]!.GetValue<double>() > 0, "every timing is measured: {0}", line);
        progress.ToString().Should().Contain("csx: cold").And.Contain("scale: 12 steps in one run");
        json["steps_1m_steps"]!.GetValue<int>().Should().Be(12);
        if (settings.Postgres is not null)
        {
            // With a server, the cluster's figures: an agent call on another node, short runs/s through 1, 2 and 3 nodes.
            json["cluster_remote_us_per_step"]!.GetValue<double>().Should().BePositive();
            json["cluster_runs_per_s"]!.AsObject().Select(p => p.Key).Should().Equal("1", "2", "3");
            json["cluster_runs_per_s"]!.AsObject().Should().OnlyContain(p => p.Value!.GetValue<double>() > 0);
        }
    }

    [Fact]
    public async Task Only_measures_the_named_scenarios_and_leaves_the_other_fields_out()
    {
        var settings = new ScenarioSettings { Chains = 4, StepsPerChain = 3, Repeats = 1, WarmUp = TimeSpan.Zero, Only = new HashSet<string> { "raw", "inmem" } };
        using var progress = new StringWriter();

        var results = await ScenariosCommand.MeasureAsync(settings.Validated(), progress, CancellationToken.None);
        var json = JsonNode.Parse(results.ToJsonLine(quick: true, elapsedSeconds: 1))!.AsObject();

        json["raw_async_us_per_step"]!.GetValue<double>().Should().BePositive();
        json["inmem_us_per_step"]!.GetValue<double>().Should().BePositive();
        json["inmem_over_raw"].Should().NotBeNull();
        Fields.Except(["raw_async_us_per_step", "inmem_us_per_step"]).Should().OnlyContain(f => !json.ContainsKey(f));
    }

    [Fact]
    public async Task Without_a_postgres_server_the_pg_durable_figure_is_null_with_a_note_saying_how_to_give_one()
    {
        var settings = new ScenarioSettings { Chains = 2, StepsPerChain = 2, Repeats = 1, WarmUp = TimeSpan.Zero, Only = new HashSet<string> { "pgdurable" }, Postgres = null };
        using var progress = new StringWriter();

        var results = await ScenariosCommand.MeasureAsync(settings.Validated(), progress, CancellationToken.None);
        var json = JsonNode.Parse(results.ToJsonLine(quick: true, elapsedSeconds: 1))!.AsObject();

        json.ContainsKey("pg_durable_us_per_step").Should().BeTrue();
        json["pg_durable_us_per_step"].Should().BeNull();
        json["pg_durable_note"]!.GetValue<string>().Should().Contain("ORCHESTRATOR_TEST_POSTGRES").And.Contain("--postgres");
    }

    [Fact]
    public async Task An_unknown_scenario_in_only_is_one_line_naming_the_known_ones()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await ScenariosCommand.RunAsync(["--only", "inmem,warp"], stdout, stderr, CancellationToken.None);

        exit.Should().Be(2);
        stderr.ToString().Trim().Should().Contain("unknown scenario 'warp'").And.Contain("known: plugin, csx, scale, raw, inmem").And.NotContain("\n");
    }

    [Fact]
    public async Task An_unknown_argument_is_one_line_and_exit_code_2()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await ScenariosCommand.RunAsync(["--fast"], stdout, stderr, CancellationToken.None);

        exit.Should().Be(2);
        stderr.ToString().Trim().Should().Contain("unknown argument '--fast'").And.NotContain("\n");
    }

    [Fact]
    public void Out_of_range_settings_are_reported_together()
    {
        var act = () => new ScenarioSettings { Chains = 0, Repeats = 0 }.Validated();

        act.Should().Throw<ArgumentException>().WithMessage("*Chains*").WithMessage("*Repeats*");
    }
}
