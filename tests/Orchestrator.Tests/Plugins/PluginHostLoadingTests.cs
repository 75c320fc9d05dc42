using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Plugins;

namespace Orchestrator.Tests.Plugins;

public sealed class PluginHostLoadingTests : IDisposable
{
    private readonly PluginFolder _folder = new();
    private readonly CapturingLog _log = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Plugins_with_different_Newtonsoft_majors_each_run_with_their_own_in_one_host()
    {
        _folder.AddFixture(FixturePlugins.JsonV12);
        _folder.AddFixture(FixturePlugins.JsonV13);
        using var host = PluginHost.Load([_folder.Path], _log.Logger);

        host.Errors.Should().BeEmpty();
        var input = JsonNode.Parse("""{"name":"ünïcode","items":[1,2.5,true,null],"nested":{"a":"b"}}""");
        var v12 = await RunAsync(host, "json12", input);
        var v13 = await RunAsync(host, "json13", input);

        // This test host has Newtonsoft.Json 13 in its default context (Microsoft.TestPlatform.TestHost depends on it), so a 12 proves isolation.
        v12["newtonsoftVersion"]!.GetValue<string>().Should().StartWith("12.");
        v12["newtonsoftFileVersion"]!.GetValue<string>().Should().StartWith("12.0.3");
        v13["newtonsoftVersion"]!.GetValue<string>().Should().StartWith("13.");
        v13["newtonsoftFileVersion"]!.GetValue<string>().Should().StartWith("13.0.3");
        v12["loadContext"]!.GetValue<string>().Should().Be(FixturePlugins.JsonV12);
        v13["loadContext"]!.GetValue<string>().Should().Be(FixturePlugins.JsonV13);
        foreach (var output in new[] { v12, v13 })
        {
            JsonNode.DeepEquals(output["roundTrip"], input).Should().BeTrue(output.ToJsonString());
        }
    }

    [Fact]
    public void Plugins_lists_agents_and_strategies_with_their_assembly_paths()
    {
        var json12 = _folder.AddFixture(FixturePlugins.JsonV12);
        var json13 = _folder.AddFixture(FixturePlugins.JsonV13);
        var faults = _folder.AddFixture(FixturePlugins.Faults);
        using var host = PluginHost.Load([_folder.Path], _log.Logger);

        host.Errors.Should().BeEmpty();
        host.Plugins.Select(p => (p.Name, p.Type, p.AssemblyPath)).Should().BeEquivalentTo(
        [
            ("json12", "agent", json12),
            ("json13", "agent", json13),
            ("flaky", "agent", faults),
            ("fixture-retry", "recovery", faults),
        ]);
        host.Plugins.Should().OnlyContain(p => Path.IsPathFullyQualified(p.AssemblyPath) && p.AssemblyVersion == "0.1.0.0");
        host.AgentKinds.Should().BeEquivalentTo("json12", "json13", "flaky");
        host.FindStrategy("fixture-retry").Should().NotBeNull();
    }

    [Fact]
    public void Plugins_load_into_collectible_contexts_unless_the_host_never_unloads_them()
    {
        _folder.AddFixture(FixturePlugins.Faults);

        using (var unloadable = PluginHost.Load([_folder.Path], _log.Logger))
        {
            unloadable.LoadContexts.Should().ContainSingle().Which.IsCollectible.Should().BeTrue();
        }

        // One run per process: plain contexts, in which the runtime uses a plugin's ReadyToRun code.
        using var plain = PluginHost.Load([_folder.Path], _log.Logger, unloadable: false);
        plain.LoadContexts.Should().ContainSingle().Which.IsCollectible.Should().BeFalse();
        plain.FindAgent("flaky").Should().NotBeNull();

        using var watched = PluginHost.Load([_folder.Path], _log.Logger, watch: true, unloadable: false);
        watched.LoadContexts.Should().ContainSingle().Which.IsCollectible.Should().BeTrue("a replaced plugin's old context must be able to go");
    }

    [Fact]
    public void Lookups_ignore_case()
    {
        _folder.AddFixture(FixturePlugins.Faults);
        using var host = PluginHost.Load([_folder.Path], _log.Logger);

        host.FindAgent("FLAKY").Should().BeSameAs(host.FindAgent("flaky")).And.NotBeNull();
        host.FindStrategy("Fixture-Retry").Should().BeSameAs(host.FindStrategy("fixture-retry")).And.NotBeNull();
        host.FindAgent("nope").Should().BeNull();
        host.FindStrategy("nope").Should().BeNull();
    }

    [Fact]
    public async Task A_plugin_strategy_recovers_a_plugin_agent_across_load_contexts()
    {
        _folder.AddFixture(FixturePlugins.Faults);
        using var host = PluginHost.Load([_folder.Path], _log.Logger);
        var task = new AgentTask("run-1", "step-1", null);
        var failure = await host.FindAgent("flaky")!.RunAsync(task, CancellationToken.None);
        failure.Success.Should().BeFalse();

        var context = new RecoveryContext(task, "flaky", failure, null, (kind, t, ct) => host.FindAgent(kind)!.RunAsync(t, ct));
        var recovered = await host.FindStrategy("fixture-retry")!.TryRecoverAsync(context, CancellationToken.None);

        recovered.Should().NotBeNull();
        recovered!.Success.Should().BeTrue();
        recovered.Output!["attempt"]!.GetValue<int>().Should().Be(2);
    }

    [Fact]
    public void A_top_level_dll_that_references_the_contract_is_a_plugin_and_other_dlls_are_skipped()
    {
        // Flat layout: the plugin and its dependencies side by side in the plugins folder itself.
        var flat = FixturePlugins.OutputOf(FixturePlugins.JsonV13);
        foreach (var file in Directory.EnumerateFiles(flat))
        {
            File.Copy(file, Path.Combine(_folder.Path, Path.GetFileName(file)));
        }

        File.Copy(typeof(IAgent).Assembly.Location, Path.Combine(_folder.Path, "Orchestrator.Abstractions.dll"));
        using var host = PluginHost.Load([_folder.Path], _log.Logger);

        host.Errors.Should().BeEmpty();
        host.Plugins.Should().ContainSingle().Which.Should().BeEquivalentTo(
            new { Name = "json13", Type = "agent", AssemblyPath = Path.Combine(_folder.Path, "Fixture.JsonV13.dll") });
    }

    [Fact]
    public void A_missing_directory_is_skipped()
    {
        _folder.AddFixture(FixturePlugins.Faults);
        var missing = Path.Combine(_folder.Path, "does-not-exist");
        using var host = PluginHost.Load([missing, _folder.Path], _log.Logger);

        host.Errors.Should().BeEmpty();
        host.AgentKinds.Should().Equal("flaky");
        _log.Events.Should().Contain(e => e.Level == Serilog.Events.LogEventLevel.Debug && e.RenderMessage(null).Contains(missing));
    }

    [Fact]
    public void An_empty_directory_list_gives_an_empty_registry()
    {
        using var host = PluginHost.Load([], _log.Logger);

        host.Plugins.Should().BeEmpty();
        host.Errors.Should().BeEmpty();
        host.AgentKinds.Should().BeEmpty();
    }

    [Fact]
    public void Default_directory_is_the_plugins_folder_beside_the_host()
    {
        PluginHost.DefaultDirectory.Should().Be(Path.Combine(AppContext.BaseDirectory, "plugins"));
    }

    private static async Task<JsonNode> RunAsync(PluginHost host, string kind, JsonNode? input)
    {
        var agent = host.FindAgent(kind);
        agent.Should().NotBeNull(kind);
        var result = await agent!.RunAsync(new AgentTask("run-1", "step-1", input?.DeepClone()), CancellationToken.None);
        result.Success.Should().BeTrue(result.Error);
        return result.Output!;
    }
}
