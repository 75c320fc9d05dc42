using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Tests.Plugins;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Durability;

/// <summary>Ctrl+C ends a run whose plugin blocks its thread for ever (a real process and a real plugin), in both languages.</summary>
public sealed class BlockingPluginTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly PluginFolder _plugins = new();

    public BlockingPluginTests() => _plugins.AddFixture(FixturePlugins.Hanging);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _plugins.Dispose();
        _dir.Dispose();
    }

    [Theory]
    [InlineData("hang.csx", "await Agent(\"hang\").RunAsync(new { touch = @\"MARKER\" });\nreturn 1;\n")]
    [InlineData("hang.js", "await agent(\"hang\").run({ touch: \"MARKER\" });\nreturn 1;\n")]
    public async Task Ctrl_C_ends_a_run_whose_plugin_blocks_its_thread_as_cancelled(string name, string source)
    {
        var marker = Path.Combine(_dir.Path, "hanging");
        var script = _dir.Write(name, source.Replace("MARKER", marker, StringComparison.Ordinal));
        var store = Path.Combine(_dir.Path, "store");
        using var process = OrchestratorProcess.Start(_dir.Path, "run", script, "--store", store, "--plugins", _plugins.Path, "--json", "--no-host");
        await process.WaitUntilAsync(() => File.Exists(marker), "the plugin to block");

        process.Interrupt();
        var ended = await process.WaitForExitAsync();

        ended.ExitCode.Should().Be(1, ended.ToString());
        JsonNode.Parse(ended.LastLine)!["status"]!.GetValue<string>().Should().Be("cancelled");
        ended.ToString().Should().NotContain("Unhandled exception");
    }
}
