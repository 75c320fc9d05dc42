using Orchestrator.Abstractions;
using Orchestrator.Core.Plugins;

namespace Orchestrator.Tests.Plugins;

/// <summary>
/// With a manifest (the CLI keeps it in <c>&lt;store&gt;/cache/plugins.txt</c>), a plugin that loaded cleanly before is
/// registered by name and loaded only when a run first asks for one of its agents or strategies.
/// </summary>
public sealed class PluginManifestTests : IDisposable
{
    private readonly PluginFolder _folder = new();
    private readonly CapturingLog _log = new();

    public PluginManifestTests()
    {
        JsonV12 = _folder.AddFixture(FixturePlugins.JsonV12);
        Faults = _folder.AddFixture(FixturePlugins.Faults);
        Manifest = Path.Combine(_folder.Path, "cache", "plugins.txt");
    }

    private string JsonV12 { get; }

    private string Faults { get; }

    private string Manifest { get; }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void The_first_load_loads_every_plugin_and_writes_what_each_provided()
    {
        using var host = PluginHost.Load([_folder.Path], _log.Logger, manifestPath: Manifest);

        host.LoadContexts.Should().HaveCount(2);
        var written = File.ReadAllText(Manifest);
        written.Should().Contain("json12").And.Contain("flaky").And.Contain("fixture-retry").And.Contain(PluginManifest.EngineBuild);
    }

    [Fact]
    public async Task Known_plugins_load_only_when_first_asked_for_and_then_work_as_usual()
    {
        PluginHost.Load([_folder.Path], _log.Logger, manifestPath: Manifest).Dispose();

        using var host = PluginHost.Load([_folder.Path], _log.Logger, manifestPath: Manifest);

        host.LoadContexts.Should().BeEmpty("nothing has been asked for yet");
        host.Errors.Should().BeEmpty();
        host.AgentKinds.Should().BeEquivalentTo("json12", "flaky");
        host.StrategyNames.Should().BeEquivalentTo("fixture-retry");
        host.Plugins.Select(p => (p.Name, p.AssemblyPath)).Should().BeEquivalentTo([("json12", JsonV12), ("flaky", Faults), ("fixture-retry", Faults)]);

        var json = host.FindProviders("json12");
        json.Should().ContainSingle();
        var result = await json[0].Agent.RunAsync(new AgentTask("run-1", "step-1", null), CancellationToken.None);
        result.Success.Should().BeTrue(result.Error);
        host.LoadContexts.Should().ContainSingle("only the plugin asked for is loaded");

        host.FindStrategy("fixture-retry").Should().NotBeNull();
        host.LoadContexts.Should().HaveCount(2);
        host.FindAgent("flaky").Should().NotBeNull("the strategy's plugin brought its agent along");
        host.LoadContexts.Should().HaveCount(2);
        host.Plugins.Should().HaveCount(3, "a plugin loaded late is listed once");
    }

    [Fact]
    public void A_plugin_file_that_changed_since_is_loaded_at_once()
    {
        PluginHost.Load([_folder.Path], _log.Logger, manifestPath: Manifest).Dispose();
        File.SetLastWriteTimeUtc(Faults, File.GetLastWriteTimeUtc(Faults).AddMinutes(1));

        using var host = PluginHost.Load([_folder.Path], _log.Logger, manifestPath: Manifest);

        host.LoadContexts.Should().ContainSingle("the changed plugin loads now; the unchanged one waits");
        host.AgentKinds.Should().BeEquivalentTo("json12", "flaky");
    }

    [Fact]
    public void A_manifest_that_does_not_parse_is_ignored_and_written_again()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Manifest)!);
        File.WriteAllText(Manifest, "not a manifest\nat all");

        using var host = PluginHost.Load([_folder.Path], _log.Logger, manifestPath: Manifest);

        host.Errors.Should().BeEmpty();
        host.LoadContexts.Should().HaveCount(2);
        File.ReadAllText(Manifest).Should().Contain("json12");
    }

    [Fact]
    public void A_manifest_written_by_another_engine_build_is_not_trusted()
    {
        PluginHost.Load([_folder.Path], _log.Logger, manifestPath: Manifest).Dispose();
        File.WriteAllText(Manifest, File.ReadAllText(Manifest).Replace(PluginManifest.EngineBuild, "another-build", StringComparison.Ordinal));

        using var host = PluginHost.Load([_folder.Path], _log.Logger, manifestPath: Manifest);

        host.LoadContexts.Should().HaveCount(2);
    }

    [Fact]
    public void A_plugin_removed_since_is_dropped_from_the_manifest()
    {
        PluginHost.Load([_folder.Path], _log.Logger, manifestPath: Manifest).Dispose();
        Directory.Delete(Path.GetDirectoryName(JsonV12)!, recursive: true);

        using (var host = PluginHost.Load([_folder.Path], _log.Logger, manifestPath: Manifest))
        {
            host.AgentKinds.Should().BeEquivalentTo("flaky");
        }

        File.ReadAllText(Manifest).Should().NotContain("json12");
    }

    [Fact]
    public void Watching_plugins_loads_every_plugin_whatever_the_manifest_says()
    {
        PluginHost.Load([_folder.Path], _log.Logger, manifestPath: Manifest).Dispose();

        using var host = PluginHost.Load([_folder.Path], _log.Logger, watch: true, manifestPath: Manifest);

        host.LoadContexts.Should().HaveCount(2);
    }
}
