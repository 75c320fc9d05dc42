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
    /// <summary>The figures by their JSON names, in the order; null for a scenario left out with <c>--only</c>.</summary>
    public IReadOnlyList<(string Name, double? Value)> Figures =>
    [
        ("raw_async_us_per_step", RawAsyncUsPerStep),
        ("inmem_us_per_step", InMemoryUsPerStep),
        ("durable_us_per_step", DurableUsPerStep),
        ("js_us_per_step", JsUsPerStep),
        ("csx_cold_ms", CsxColdMs),
        ("csx_warm_ms", CsxWarmMs),
        ("host_run_ms", HostRunMs),
        ("plugin_load_first_ms", PluginLoadFirstMs),
        ("plugin_load_ms", PluginLoadMs),
        ("memory_growth_mb", MemoryGrowthMb),
    ];

    /// <summary>One line of JSON: every figure, how they were taken, and on what.</summary>
    public string ToJsonLine(bool quick, double elapsedSeconds)
    {
        var json = new JsonObject();
        foreach (var (name, value) in Figures)
        {
            if (value is { } measured)
            {
                json[name] = Math.Round(measured, 3);
            }
        }

        if (InMemoryUsPerStep is { } engine && RawAsyncUsPerStep is { } floor)
        {
            json["inmem_over_raw"] = Math.Round(engine / floor, 2);
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
