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

    private static IEnumerable<string> Servers(JsonNode? list) => list!.AsArray().Select(s => s!.GetValue<string>());
}
