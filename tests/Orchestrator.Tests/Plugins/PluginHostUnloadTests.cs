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
    public async Task The_first_load_of_a_plugin_takes_the_context_made_ahead_for_it()
    {
        _folder.AddFixture(FixturePlugins.JsonV12);
        using var host = DeferredHost();

        host.PrepareFirstDeferred();
        var ahead = host.PreparedContext;
        ahead.Should().NotBeNull();
        host.LoadContexts.Should().BeEmpty("making a context ahead loads no plugin assembly");

        var result = await host.FindAgent("json12")!.RunAsync(new AgentTask("run", "step", null), CancellationToken.None);

        result.Success.Should().BeTrue(result.Error);
        host.LoadContexts.Should().ContainSingle().Which.Should().BeSameAs(ahead);
        host.PreparedContext.Should().BeNull("the plugin took it");
    }

    [Fact]
    public void A_context_made_ahead_and_never_used_unloads_with_the_host()
    {
        _folder.AddFixture(FixturePlugins.JsonV12);
        var host = DeferredHost();
        var ahead = PrepareFirst(host);

        Collect([ahead]);
        ahead.IsAlive.Should().BeTrue("the host holds the context it made ahead");

        host.Dispose();
        Collect([ahead]);
        ahead.IsAlive.Should().BeFalse("a disposed host unloads the contexts it made ahead and never used");
    }

    /// <summary>A host whose plugins are all deferred: a first host wrote the manifest that this one reads.</summary>
    private PluginHost DeferredHost()
    {
        var manifest = Path.Combine(_folder.Path, "cache", "plugins.txt");
        PluginHost.Load([_folder.Path], Logger.None, manifestPath: manifest).Dispose();
        return PluginHost.Load([_folder.Path], Logger.None, manifestPath: manifest);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference PrepareFirst(PluginHost host)
    {
        host.PrepareFirstDeferred();
        return new WeakReference(host.PreparedContext ?? throw new InvalidOperationException("no context was made ahead"));
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
