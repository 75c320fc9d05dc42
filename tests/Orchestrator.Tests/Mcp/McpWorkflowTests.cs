using System.Text.Json.Nodes;
using Orchestrator.Tests.Durability;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Mcp;

/// <summary>MCP calls as journaled steps: resume, the mcp agent, listing, discovery and the HTTP transport.</summary>
public sealed class McpWorkflowTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Store => Path.Combine(_dir.Path, "store");

    [Fact]
    public async Task Resume_replays_a_finished_tool_call_instead_of_calling_the_tool_again()
    {
        await McpServers.EnsureInstalledAsync();
        var graph = Path.Combine(_dir.Path, "graph.jsonl");
        _dir.Write("flow/mcp.json", McpServers.Config(("memory", McpServers.MemoryServer(graph))));
        var marker = Path.Combine(_dir.Path, "go");
        var script = _dir.Write("flow/flow.js", $$"""
            const made = await mcp.call("create_entities", { entities: [{ name: "once", entityType: "t", observations: ["first"] }] });
            await agent("shell").run({ command: "test", args: ["-f", "{{marker}}"] }, "gate");
            return JSON.parse(made.text).length;
            """);

        var first = await CliRunner.RunAsync("run", script, "--store", Store, "--json");
        first.ExitCode.Should().Be(1, first.ToString());
        var runId = JsonNode.Parse(first.LastLine)!["runId"]!.GetValue<string>();
        File.WriteAllText(marker, "");

        var resumed = await CliRunner.RunAsync("resume", runId, "--store", Store, "--json");

        resumed.ExitCode.Should().Be(0, resumed.ToString());

        // create_entities answers with the entities it created: had it run again, it would have created none.
        JsonNode.Parse(resumed.LastLine)!["result"]!.GetValue<int>().Should().Be(1);
        JournalProbe.Events(Store, runId).Count(e => e.StepId == "create_entities/memory" && e.Event == "Started").Should().Be(1);
    }

    [Fact]
    public async Task The_mcp_agent_calls_a_tool_wherever_an_agent_is_expected()
    {
        await McpServers.EnsureInstalledAsync();
        _dir.Write("flow/mcp.json", McpServers.Config(("everything", McpServers.EverythingServer())));
        var script = _dir.Write("flow/flow.csx", """
            var sums = await MasterWorker("sums", new { pairs = new[] { new[] { 1, 2 }, new[] { 3, 4 } } },
                Split(t => t!["pairs"]!.AsArray().Select(p => (object?)new { tool = "get-sum", arguments = new { a = p![0], b = p[1] } })),
                Worker("mcp"),
                Integrate(results => results.Select(r => r!["text"]!.GetValue<string>()).ToArray()));
            return sums;
            """);

        var result = await CliRunner.RunAsync("run", script, "--store", Store, "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        JsonNode.Parse(result.LastLine)!["result"]!.AsArray().Select(r => r!.GetValue<string>())
            .Should().Equal("The sum of 1 and 2 is 3.", "The sum of 3 and 4 is 7.");
    }

    [Fact]
    public async Task The_mcp_agent_without_servers_says_so()
    {
        var script = _dir.Write("flow/flow.js", """await agent("mcp").run({ tool: "echo", arguments: { message: "x" } });""");

        var result = await CliRunner.RunAsync("run", script, "--store", Store);

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain("mcp: the host has no MCP servers configured");
    }

    [Fact]
    public async Task Mcp_list_shows_each_server_with_its_health_and_tools_and_fails_when_one_is_down()
    {
        await McpServers.EnsureInstalledAsync();
        var config = _dir.Write("servers.json", McpServers.Config(
            ("everything", McpServers.EverythingServer()),
            ("memory", McpServers.MemoryServer(Path.Combine(_dir.Path, "graph.jsonl"))),
            ("ghost", new JsonObject { ["command"] = "/nonexistent/ghost" })));

        var result = await CliRunner.RunAsync("mcp", "list", "--store", Store, "--mcp-config", config);

        result.ExitCode.Should().Be(1, result.ToString());
        var lines = result.Stdout.Split('\n');
        lines.Should().Contain(l => l.StartsWith("everything ", StringComparison.Ordinal) && l.Contains(" healthy ") && l.Contains("echo, ") && l.Contains("get-sum"));
        lines.Should().Contain(l => l.StartsWith("memory ", StringComparison.Ordinal) && l.Contains(" healthy ") && l.Contains("create_entities") && l.Contains("open_nodes"));
        lines.Should().Contain(l => l.StartsWith("ghost ", StringComparison.Ordinal) && l.Contains(" unhealthy "));
        result.Stderr.Should().Contain("could not start '/nonexistent/ghost'");
    }

    [Fact]
    public async Task The_explicit_config_overrides_a_server_of_the_same_name_next_to_the_script()
    {
        await McpServers.EnsureInstalledAsync();
        _dir.Write("flow/mcp.json", McpServers.Config(("tools", new JsonObject { ["command"] = "/nonexistent/old" })));
        var config = _dir.Write("better.json", McpServers.Config(("tools", McpServers.EverythingServer())));
        var script = _dir.Write("flow/flow.csx", """return (await Mcp.CallAsync("tools", "echo", new { message = "over" }))!["text"];""");

        var result = await CliRunner.RunAsync("run", script, "--store", Store, "--json", "--mcp-config", config);

        result.ExitCode.Should().Be(0, result.ToString());
        JsonNode.Parse(result.LastLine)!["result"]!.GetValue<string>().Should().Be("Echo: over");
    }

    [Fact]
    public async Task A_streamable_http_server_is_called_by_url()
    {
        await McpServers.EnsureInstalledAsync();
        var port = FreePort();
        using var server = new System.Diagnostics.Process
        {
            StartInfo = new System.Diagnostics.ProcessStartInfo(McpServers.Everything, ["streamableHttp"])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                Environment = { ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            },
        };
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        System.Diagnostics.DataReceivedEventHandler announced = (_, e) =>
        {
            // The server says which port it listens on once it does.
            if (e.Data?.Contains($"{port}", StringComparison.Ordinal) == true)
            {
                listening.TrySetResult();
            }
        };
        server.ErrorDataReceived += announced;
        server.OutputDataReceived += announced;
        server.Start();
        server.BeginErrorReadLine();
        server.BeginOutputReadLine();
        try
        {
            await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            _dir.Write("flow/mcp.json", new JsonObject { ["mcpServers"] = new JsonObject { ["web"] = new JsonObject { ["url"] = $"http://127.0.0.1:{port}/mcp" } } }.ToJsonString());
            var script = _dir.Write("flow/flow.js", """const r = await mcp.call("get-sum", { a: 40, b: 2 }); return r;""");

            var result = await CliRunner.RunAsync("run", script, "--store", Store, "--json");

            result.ExitCode.Should().Be(0, result.ToString());
            var output = JsonNode.Parse(result.LastLine)!["result"]!;
            output["server"]!.GetValue<string>().Should().Be("web");
            output["text"]!.GetValue<string>().Should().Be("The sum of 40 and 2 is 42.");
        }
        finally
        {
            server.Kill(entireProcessTree: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
