using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Orchestrator.Bench.Scenarios;

/// <summary>The scenario figures, printed as one JSON line (<c>--json</c>) or as a table.</summary>
internal sealed record ScenarioResults(
    double? RawAsyncUsPerStep,
    double? InMemoryUsPerStep,
    double? DurableUsPerStep,
    double? JsUsPerStep,
    double? CsxColdMs,
    double? CsxWarmMs,
    double? HostRunMs,
    double? PluginLoadFirstMs,
    double? PluginLoadMs,
    double? MemoryGrowthMb)
{
    /// <summary>The journal hash chain's cost per step, in ns; null when it was left out.</summary>
    public double? ChainNsPerStep { get; init; }

    /// <summary>The durable scenario journaled to PostgreSQL, in µs per step; null when it was left out or there was no server.</summary>
    public double? PgDurableUsPerStep { get; init; }

    /// <summary>Why <see cref="PgDurableUsPerStep"/> is null though the scenario was asked for: no server was named.</summary>
    public string? PgDurableNote { get; init; }

    /// <summary>The cluster's figures (an agent call on another node, short runs/s through 1, 2, 3 nodes); null when left out or no server.</summary>
    public ClusterScenario.Figures? Cluster { get; init; }

    /// <summary>The scale scenario's figures; null when it was left out.</summary>
    public ScaleScenarios.Figures? Scale { get; init; }

    /// <summary>The figures by their JSON names, in the order; null for a scenario left out with <c>--only</c>.</summary>
    public IReadOnlyList<(string Name, double? Value)> Figures =>
    [
        ("raw_async_us_per_step", RawAsyncUsPerStep),
        ("inmem_us_per_step", InMemoryUsPerStep),
        ("durable_us_per_step", DurableUsPerStep),
        ("pg_durable_us_per_step", PgDurableUsPerStep),
        ("cluster_remote_us_per_step", Cluster?.RemoteUsPerStep),
        ("cluster_runs_per_s_1", Cluster?.RunsPerSecond[0]),
        ("cluster_runs_per_s_2", Cluster?.RunsPerSecond[1]),
        ("cluster_runs_per_s_3", Cluster?.RunsPerSecond[2]),
        ("chain_ns_per_step", ChainNsPerStep),
        ("js_us_per_step", JsUsPerStep),
        ("csx_cold_ms", CsxColdMs),
        ("csx_warm_ms", CsxWarmMs),
        ("host_run_ms", HostRunMs),
        ("plugin_load_first_ms", PluginLoadFirstMs),
        ("plugin_load_ms", PluginLoadMs),
        ("memory_growth_mb", MemoryGrowthMb),
        ("steps_1m_peak_rss_mb", Scale?.PeakRssMb),
        ("steps_1m_us_per_step", Scale?.UsPerStep),
        ("steps_10k_us_per_step", Scale?.SmallUsPerStep),
        ("report_1m_ms", Scale?.ReportMs),
        ("report_1m_kb", Scale?.ReportKb),
        ("steps_1m_js_peak_rss_mb", Scale?.JsPeakRssMb),
        ("steps_1m_js_us_per_step", Scale?.JsUsPerStep),
        ("steps_10k_js_us_per_step", Scale?.JsSmallUsPerStep),
        ("fanout_outputs_journal_ratio", Scale?.FanOutRatio),
        ("fanout_peak_rss_mb", Scale?.FanOutPeakRssMb),
    ];

    /// <summary>One line of JSON: every figure, how they were taken, and on what.</summary>
    public string ToJsonLine(bool quick, double elapsedSeconds)
    {
        var json = new JsonObject();
        foreach (var (name, value) in Figures)
        {
            if (name.StartsWith("cluster_runs_per_s_", StringComparison.Ordinal))
            {
                continue;
            }

            if (value is { } measured)
            {
                json[name] = Math.Round(measured, 3);
            }
        }

        if (Cluster is { } cluster)
        {
            // Short runs per second through one, two and three nodes, by node count.
            json["cluster_runs_per_s"] = new JsonObject
            {
                ["1"] = Math.Round(cluster.RunsPerSecond[0], 1),
                ["2"] = Math.Round(cluster.RunsPerSecond[1], 1),
                ["3"] = Math.Round(cluster.RunsPerSecond[2], 1),
            };
        }

        if (PgDurableNote is { } note)
        {
            json["pg_durable_us_per_step"] = null;
            json["pg_durable_note"] = note;
        }

        if (InMemoryUsPerStep is { } engine && RawAsyncUsPerStep is { } floor)
        {
            json["inmem_over_raw"] = Math.Round(engine / floor, 2);
        }

        if (Scale is { } scale)
        {
            // --quick runs a smaller big run: say how many steps the steps_1m figures are of.
            json["steps_1m_steps"] = scale.Steps;
        }

        json["quick"] = quick;
        json["elapsed_s"] = Math.Round(elapsedSeconds, 1);
        json["cores"] = Environment.ProcessorCount;
        json["runtime"] = RuntimeInformation.FrameworkDescription;
        json["os"] = RuntimeInformation.OSDescription;
        return json.ToJsonString();
    }

    public string ToTable() => string.Join(
        Environment.NewLine,
        Figures.Where(f => f.Value is not null).Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Name,-24} {f.Value,12:0.000}")));
}
