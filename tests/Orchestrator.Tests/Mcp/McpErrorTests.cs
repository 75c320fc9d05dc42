using System.Text.Json.Nodes;
using Orchestrator.Tests.Durability;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Mcp;

/// <summary>Bad MCP input (config, server, tool, arguments): one clear line, a non-zero exit, and the journal intact.</summary>
public sealed class McpErrorTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Store => Path.Combine(_dir.Path, "store");

    [Fact]
    public async Task A_missing_mcp_config_file_is_one_line_exit_2_and_starts_no_run()
    {
        var earlier = await RunEarlierAsync();
        var script = _dir.Write("flow/flow.csx", "return 1;");

        var result = await CliRunner.RunAsync("run", script, "--store", Store, "--mcp-config", Path.Combine(_dir.Path, "nowhere.json"));

        result.ExitCode.Should().Be(2, result.ToString());
        OneLine(result).Should().Contain("nowhere.json: MCP configuration file not found");
        JournalProbe.Runs(Store).Select(r => r.Id).Should().Equal(earlier);
    }

    [Fact]
    public async Task A_malformed_mcp_json_next_to_the_script_names_the_file_and_line()
    {
        var earlier = await RunEarlierAsync();
        _dir.Write("flow/mcp.json", "{\n  \"mcpServers\": {\n    \"x\": { \"command\": \"y\" \n  }\n");
        var script = _dir.Write("flow/flow.csx", "return 1;");

        var result = await CliRunner.RunAsync("run", script, "--store", Store);

        result.ExitCode.Should().Be(2, result.ToString());
        OneLine(result).Should().MatchRegex(@"flow/mcp\.json\(\d+\): error: not valid JSON");
        JournalProbe.Runs(Store).Select(r => r.Id).Should().Equal(earlier);
    }

    [Fact]
    public async Task A_server_without_command_or_url_is_refused_naming_it()
    {
        _dir.Write("flow/mcp.json", """{ "mcpServers": { "half": { "args": ["x"] } } }""");
        var script = _dir.Write("flow/flow.csx", "return 1;");

        var result = await CliRunner.RunAsync("run", script, "--store", Store);

        result.ExitCode.Should().Be(2, result.ToString());
        OneLine(result).Should().Contain("server 'half' needs either \"command\" (stdio) or \"url\" (streamable HTTP)");
    }

    [Fact]
    public async Task A_server_command_that_does_not_exist_fails_the_call_naming_server_and_command_and_keeps_earlier_steps()
    {
        _dir.Write("flow/mcp.json", """{ "mcpServers": { "ghost": { "command": "/nonexistent/mcp-ghost", "args": ["stdio"] } } }""");
        var script = _dir.Write("flow/flow.csx", """
            await Step("before", () => 42);
            await Mcp.CallAsync("echo", new { message = "hi" });
            return 1;
            """);

        var result = await CliRunner.RunAsync("run", script, "--store", Store, "--json");

        result.ExitCode.Should().Be(1, result.ToString());
        OneLine(result).Should().Contain("step 'echo' failed").And.Contain("ghost").And.Contain("could not start '/nonexistent/mcp-ghost stdio'");
        var runId = JsonNode.Parse(result.LastLine)!["runId"]!.GetValue<string>();
        JournalProbe.HasEvent(Store, "before", "Succeeded").Should().BeTrue();
        JournalProbe.Events(Store, runId).Should().Contain(e => e.StepId == "echo" && e.Event == "Failed");
    }

    [Fact]
    public async Task A_tool_call_with_bad_arguments_fails_its_step_with_the_servers_reason_and_keeps_the_calls_before_it()
    {
        await McpServers.EnsureInstalledAsync();
        _dir.Write("flow/mcp.json", McpServers.Config(("everything", McpServers.EverythingServer())));
        var script = _dir.Write("flow/flow.csx", """
            await Mcp.CallAsync("echo", new { message = "first" });
            await Mcp.CallAsync("get-sum", new { a = "not a number", b = 2 });
            return 1;
            """);

        var result = await CliRunner.RunAsync("run", script, "--store", Store, "--json");

        result.ExitCode.Should().Be(1, result.ToString());
        OneLine(result).Should().Contain("flow.csx(2)").And.Contain("step 'get-sum' failed: tool 'get-sum' on MCP server 'everything'");
        var runId = JsonNode.Parse(result.LastLine)!["runId"]!.GetValue<string>();
        JournalProbe.Events(Store, runId).Should().Contain(e => e.StepId == "echo" && e.Event == "Succeeded")
            .And.Contain(e => e.StepId == "get-sum" && e.Event == "Failed");
    }

    [Fact]
    public async Task An_unknown_tool_lists_the_tools_on_offer()
    {
        await McpServers.EnsureInstalledAsync();
        _dir.Write("flow/mcp.json", McpServers.Config(("everything", McpServers.EverythingServer())));
        var script = _dir.Write("flow/flow.js", """await mcp.call("ech", { message: "typo" });""");

        var result = await CliRunner.RunAsync("run", script, "--store", Store);

        result.ExitCode.Should().Be(1, result.ToString());
        OneLine(result).Should().Contain("unknown tool 'ech' on any MCP server; tools on offer: ").And.Contain("echo, ").And.Contain("get-sum");
    }

    [Fact]
    public async Task A_script_that_calls_a_tool_without_any_mcp_json_is_told_where_to_put_one()
    {
        var script = _dir.Write("flow/flow.csx", """await Mcp.CallAsync("echo", new { message = "hi" });""");

        var result = await CliRunner.RunAsync("run", script, "--store", Store);

        result.ExitCode.Should().Be(1, result.ToString());
        OneLine(result).Should().Contain("no MCP servers are configured: put an mcp.json next to the script or in the store folder, or pass --mcp-config FILE");
    }

    private async Task<string[]> RunEarlierAsync()
    {
        var script = _dir.Write("earlier/earlier.csx", """await Step("kept", () => 1); return 1;""");
        var result = await CliRunner.RunAsync("run", script, "--store", Store);
        result.ExitCode.Should().Be(0, result.ToString());
        return [.. JournalProbe.Runs(Store).Select(r => r.Id)];
    }

    private static string OneLine(CliResult result)
    {
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        lines.Should().ContainSingle(result.ToString());
        return lines[0];
    }
}
