using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Plugins;
using Serilog.Core;

namespace Orchestrator.Tests.Plugins;

public sealed class PluginHostUnloadTests : IDisposable
{
    private readonly PluginFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Dispose_really_unloads_the_plugin_load_contexts()
    {
        _folder.AddFixture(FixturePlugins.JsonV12);
        _folder.AddFixture(FixturePlugins.JsonV13);
        _folder.AddFixture(FixturePlugins.Faults);

        var (host, contexts) = LoadAndUse(_folder.Path);
        contexts.Should().HaveCount(3);

        // Control: while the host is alive, its contexts are too.
        Collect(contexts);
        contexts.Should().OnlyContain(c => c.IsAlive);

        host.Dispose();
        Collect(contexts);

        contexts.Should().OnlyContain(c => !c.IsAlive, "a disposed host must leave nothing that roots a plugin context");
        host.Invoking(h => h.FindAgent("json12")).Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public async Task Contexts_made_ahead_take_the_first_load_and_the_unused_ones_unload_with_the_host()
    {
        _folder.AddFixture(FixturePlugins.JsonV12);
        _folder.AddFixture(FixturePlugins.Faults);
        var manifest = Path.Combine(_folder.Path, "cache", "plugins.txt");
        PluginHost.Load([_folder.Path], Logger.None, manifestPath: manifest).Dispose();

        var host = PluginHost.Load([_folder.Path], Logger.None, manifestPath: manifest);
        var (ahead, unused) = await PrepareAndUseOneAsync(host);

        ahead.Should().HaveCount(2, "both plugins were deferred");
        Collect([unused]);
        unused.IsAlive.Should().BeTrue("the host still holds the context it made ahead");

        host.Dispose();
        Collect([unused]);
        unused.IsAlive.Should().BeFalse("a disposed host unloads the contexts it made ahead and never used");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<(IReadOnlyList<WeakReference> Ahead, WeakReference Unused)> PrepareAndUseOneAsync(PluginHost host)
    {
        host.PrepareDeferred();
        var ahead = host.PreparedContexts;
        host.LoadContexts.Should().BeEmpty("making a context ahead loads no plugin assembly");

        var result = await host.FindAgent("json12")!.RunAsync(new AgentTask("run", "step", null), CancellationToken.None);
        result.Success.Should().BeTrue(result.Error);
        ahead.Should().Contain(host.LoadContexts.Single(), "the plugin loads into the context made for it ahead");

        return ([.. ahead.Select(c => new WeakReference(c))], new WeakReference(host.PreparedContexts.Single()));
    }

    // Not inlined, so that no plugin object or context outlives this frame in the test's locals.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (PluginHost Host, List<WeakReference> Contexts) LoadAndUse(string directory)
    {
        var host = PluginHost.Load([directory], Logger.None);
        foreach (var kind in host.AgentKinds)
        {
            // Run each agent so that the plugins' own code and dependencies are loaded, not just their types.
            var result = host.FindAgent(kind)!.RunAsync(new AgentTask("run", "step", JsonNode.Parse("""{"a":1}""")), CancellationToken.None)
                .AsTask().GetAwaiter().GetResult();
            result.Output?.ToJsonString();
        }

        return (host, [.. host.LoadContexts.Select(c => new WeakReference(c))]);
    }

    private static void Collect(List<WeakReference> references)
    {
        for (var i = 0; i < 20 && references.Any(r => r.IsAlive); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }
}
