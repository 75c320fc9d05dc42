using BenchmarkDotNet.Attributes;
using Orchestrator.Core.Plugins;
using Serilog.Core;

namespace Orchestrator.Bench.Micro;

/// <summary>Discovering and loading the standard plugins (each into its own load context), then unloading them.</summary>
public class PluginLoadBenchmarks
{
    private readonly string _directory = PluginHost.DefaultDirectory;

    [Benchmark]
    public int LoadStandardPlugins()
    {
        using var host = PluginHost.Load([_directory], Logger.None);
        return host.AgentKinds.Count;
    }
}
