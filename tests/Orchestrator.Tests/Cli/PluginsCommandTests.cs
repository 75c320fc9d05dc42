using System.Text.Json.Nodes;
using Orchestrator.Tests.Plugins;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Cli;

public sealed class PluginsCommandTests : IDisposable
{
    private readonly PluginFolder _plugins = new();
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        _plugins.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task Plugins_lists_the_standard_agents_with_their_dlls()
    {
        var result = await CliRunner.RunAsync("plugins");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().MatchRegex(@"agent\s+shell\s+\S+\s+\S*plugins/Orchestrator\.Agents\.Shell/Orchestrator\.Agents\.Shell\.dll");
        result.Stdout.Should().MatchRegex(@"agent\s+http\s+\S+\s+\S*plugins/Orchestrator\.Agents\.Http/Orchestrator\.Agents\.Http\.dll");
    }

    [Fact]
    public async Task Plugins_from_a_plugins_folder_are_listed_with_their_dll_paths_and_broken_ones_named()
    {
        var json12 = _plugins.AddFixture(FixturePlugins.JsonV12);
        var json13 = _plugins.AddFixture(FixturePlugins.JsonV13);
        var throwing = _plugins.AddFixture(FixturePlugins.Throwing);
        var corrupt = _plugins.WriteFile("Corrupt/Corrupt.dll", [0x4d, 0x5a, 0x00, 0x01, 0x02]);

        var result = await CliRunner.RunAsync("plugins", "--plugins", _plugins.Path);

        result.ExitCode.Should().Be(2, "a plugin that does not load is bad input\n" + result);
        result.Stdout.Should().Contain(json12).And.Contain(json13).And.Contain("json12").And.Contain("json13");
        var errors = result.Stderr.Trim().Split('\n');
        errors.Should().HaveCount(2, result.Stderr);
        errors.Should().ContainSingle(l => l.Contains(throwing) && l.Contains("fixture constructor failure"));
        errors.Should().ContainSingle(l => l.Contains(corrupt));
    }

    [Fact]
    public async Task A_workflow_uses_agents_that_need_different_major_versions_of_one_library()
    {
        _plugins.AddFixture(FixturePlugins.JsonV12);
        _plugins.AddFixture(FixturePlugins.JsonV13);
        var script = _dir.Write("versions.js", """
            const old = await agent("json12").run({ n: 1 });
            const cur = await agent("json13").run({ n: 2 });
            return { old: old.newtonsoftVersion, cur: cur.newtonsoftVersion };
            """);

        var result = await CliRunner.RunAsync("run", script, "--plugins", _plugins.Path, "--store", Path.Combine(_dir.Path, "store"), "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        var versions = JsonNode.Parse(result.LastLine)!["result"]!;
        versions["old"]!.GetValue<string>().Should().StartWith("12.");
        versions["cur"]!.GetValue<string>().Should().StartWith("13.");
    }
}
