using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Mcp;

/// <summary>Two server-everything instances: calls spread over both, and when one is killed mid-run the other takes the rest.</summary>
public sealed class McpFailoverTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Calls_spread_over_both_servers_and_after_one_is_killed_mid_run_the_other_serves_the_rest()
    {
        await McpServers.EnsureInstalledAsync();
        var pidA = Path.Combine(_dir.Path, "a.pid");
        _dir.Write("mcp.json", McpServers.Config(("a", McpServers.KillableEverything(pidA)), ("b", McpServers.KillableEverything(Path.Combine(_dir.Path, "b.pid")))));
        var script = _dir.Write("spread.csx", """
            var before = new List<string>();
            for (var i = 0; i < 6; i++)
            {
                before.Add((await Mcp.CallAsync("echo", new { message = $"before {i}" }))!["server"]!.GetValue<string>());
            }

            await Agent("shell").RunAsync(new { command = "kill", args = new[] { "-9", File.ReadAllText(Input!["pidFile"]!.GetValue<string>()).Trim() } }, name: "kill-a");

            var after = new List<string>();
            for (var i = 0; i < 6; i++)
            {
                after.Add((await Mcp.CallAsync("echo", new { message = $"after {i}" }))!["server"]!.GetValue<string>());
            }

            return new { before, after };
            """);

        var result = await CliRunner.RunAsync("run", script, "--store", Path.Combine(_dir.Path, "store"), "--json", "--input", new JsonObject { ["pidFile"] = pidA }.ToJsonString());

        result.ExitCode.Should().Be(0, result.ToString());
        var outcome = JsonNode.Parse(result.LastLine)!;
        Servers(outcome["result"]!["before"]).Should().Contain("a").And.Contain("b");
        Servers(outcome["result"]!["after"]).Should().AllBe("b");

        // The report shows the failover: the first call after the kill tried, or skipped, the dead server.
        var package = JsonNode.Parse(File.ReadAllText(Path.ChangeExtension(outcome["report"]!.GetValue<string>(), ".json")))!;
        var calls = package["steps"]!.AsArray().Where(s => s!["kind"]!.GetValue<string>() == "mcp").ToList();
        calls.Should().HaveCount(12).And.OnlyContain(s => s!["status"]!.GetValue<string>() == "succeeded");
        var failedOver = calls.Skip(6).First()!["output"]!["failover"]!.AsArray();
        failedOver.Select(f => f!["server"]!.GetValue<string>()).Should().Equal("a");
        File.ReadAllText(outcome["report"]!.GetValue<string>()).Should().Contain("\"failover\"");
    }

    [Fact]
    public async Task A_call_of_a_tool_not_marked_idempotent_whose_server_dies_mid_call_is_not_sent_again()
    {
        await McpServers.EnsureInstalledAsync();
        var (graphA, graphB) = (Path.Combine(_dir.Path, "a.jsonl"), Path.Combine(_dir.Path, "b.jsonl"));
        _dir.Write("mcp.json", McpServers.Config(("a", DiesMidCall(McpServers.MemoryServer(graphA))), ("b", McpServers.MemoryServer(graphB))));
        var script = _dir.Write("create.csx", """
            await Mcp.CallAsync("create_entities", new { entities = new[] { new { name = "die-now", entityType = "order", observations = new[] { "charged" } } } });
            """);

        var result = await CliRunner.RunAsync("run", script, "--store", Path.Combine(_dir.Path, "store"));

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain("MCP server 'a' failed during the call of 'create_entities'")
            .And.Contain("not sent again to 'b'").And.Contain("not marked read-only or idempotent");
        File.ReadAllText(graphA).Should().Contain("die-now", "server a ran the call before it died");
        File.Exists(graphB).Should().BeFalse("the call must not run a second time on b");
    }

    [Fact]
    public async Task A_call_of_a_read_only_tool_whose_server_dies_mid_call_is_sent_to_the_other_server()
    {
        await McpServers.EnsureInstalledAsync();
        _dir.Write("mcp.json", McpServers.Config(("a", DiesMidCall(McpServers.EverythingServer())), ("b", McpServers.EverythingServer())));
        var script = _dir.Write("echo.csx", """
            return await Mcp.CallAsync("echo", new { message = "die-now" });
            """);

        var result = await CliRunner.RunAsync("run", script, "--store", Path.Combine(_dir.Path, "store"), "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        var output = JsonNode.Parse(result.LastLine)!["result"]!;
        output["server"]!.GetValue<string>().Should().Be("b");
        output["failover"]!.AsArray().Single()!["error"]!.GetValue<string>().Should().Contain("MCP server 'a' failed during the call of 'echo'");
    }

    /// <summary>
    /// The server behind a stdio relay that passes a request holding <c>die-now</c> on to it, then stops answering and
    /// kills it: the call reached the server and may have run, and its client sees the server die mid-call.
    /// </summary>
    private JsonObject DiesMidCall(JsonObject server)
    {
        var relay = _dir.Write("relay.mjs", """
            import { spawn } from "node:child_process";
            const [, , command, ...args] = process.argv;
            const server = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
            server.stdout.pipe(process.stdout);
            process.stdin.on("data", chunk => {
              server.stdin.write(chunk);
              if (chunk.includes("die-now")) {
                server.stdout.unpipe(process.stdout);
                setTimeout(() => { server.kill("SIGKILL"); process.exit(1); }, 500);
              }
            });
            process.stdin.on("end", () => server.kill());
            """);
        var relayed = (JsonObject)server.DeepClone();
        relayed["args"] = new JsonArray([relay, server["command"]!.GetValue<string>(), .. (server["args"]?.AsArray() ?? []).Select(a => a!.DeepClone())]);
        relayed["command"] = "node";
        return relayed;
    }

    private static IEnumerable<string> Servers(JsonNode? list) => list!.AsArray().Select(s => s!.GetValue<string>());
}
