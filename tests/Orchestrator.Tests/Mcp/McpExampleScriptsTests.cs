using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Mcp;

/// <summary>scripts/mcp.csx and scripts/mcp.js against the real servers of scripts/mcp.json (one class: they share server-memory's file).</summary>
public sealed class McpExampleScriptsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("mcp.csx")]
    [InlineData("mcp.js")]
    public async Task The_example_calls_tools_on_both_servers_of_its_mcp_json_and_reports_which_server_served_each(string script)
    {
        await McpServers.EnsureInstalledAsync();

        var result = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, script), "--store", _dir.Path, "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        var outcome = JsonNode.Parse(result.LastLine)!;
        var runId = outcome["runId"]!.GetValue<string>();
        var summary = outcome["result"]!;
        summary["echo"]!.GetValue<string>().Should().Be($"Echo: hello from {runId}");
        summary["sum"]!.GetValue<string>().Should().Contain("42");
        summary["echoServer"]!.GetValue<string>().Should().Be("everything");
        summary["sumServer"]!.GetValue<string>().Should().Be("everything");
        summary["memoryServer"]!.GetValue<string>().Should().Be("memory");
        summary["entity"]!["name"]!.GetValue<string>().Should().Be($"run-{runId}");
        summary["entity"]!["observations"]!.AsArray().Select(o => o!.GetValue<string>()).Should().Contain($"started by {script}");
        summary["toolCount"]!.GetValue<int>().Should().BeGreaterThan(10);

        var report = File.ReadAllText(outcome["report"]!.GetValue<string>());
        report.Should().Contain("| └ echo/everything | mcp-call | everything | succeeded |")
            .And.Contain("| └ get-sum/everything | mcp-call | everything | succeeded |")
            .And.Contain("| └ create_entities/memory | mcp-call | memory | succeeded |")
            .And.Contain("| └ open_nodes/memory | mcp-call | memory | succeeded |")
            .And.Contain("The sum of 19 and 23 is 42.");
    }
}
