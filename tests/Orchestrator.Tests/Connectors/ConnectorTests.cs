using System.Text.Json.Nodes;
using Orchestrator.Agents.Tests;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Connectors;

/// <summary>Connectors through the real command line: discovery, connection reuse, health, script definitions and bad input.</summary>
public sealed class ConnectorTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string Store => Path.Combine(_dir.Path, "store");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Calls_and_health_checks_of_an_http_connector_share_one_pooled_connection()
    {
        await using var server = new LoopbackServer((ctx, seen) => LoopbackServer.Respond(ctx, 200, $$"""{"path":"{{seen.PathAndQuery}}"}""", "application/json"));
        var api = new JsonObject { ["type"] = "http", ["baseUrl"] = server.BaseUrl + "v2/", ["health"] = new JsonObject { ["path"] = "/ping" } };
        var connectors = _dir.Write("elsewhere/my-connectors.json", new JsonObject { ["connectors"] = new JsonObject { ["api"] = api } }.ToJsonString());
        var script = _dir.Write("reuse.js", """
            const health = await connector("api").health();
            const a = await connector("api").get("/items/1");
            const b = await connector("api").post("items", { n: 2 }, "create");
            const c = await connector("api").call({ method: "DELETE", path: "/items/1" });
            return { healthy: health.healthy, paths: [a.json.path, b.json.path, c.json.path] };
            """);

        var result = await CliRunner.RunAsync("run", script, "--connectors", connectors, "--store", Store, "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        JsonNode.Parse(result.LastLine)!["result"]!.ToJsonString().Should().Be("""{"healthy":true,"paths":["/v2/items/1","/v2/items","/v2/items/1"]}""");
        server.Seen.Select(s => s.Method).Should().Equal("GET", "GET", "POST", "DELETE");
        server.Seen.Select(s => s.ClientPort).Distinct().Should().ContainSingle("one connector keeps one connection pool");
        JsonNode.Parse(server.Seen[2].Body)!["n"]!.GetValue<int>().Should().Be(2);
        var steps = await CliRunner.RunAsync("runs", "show", JsonNode.Parse(result.LastLine)!["runId"]!.GetValue<string>(), "--store", Store);
        steps.Stdout.Should().Contain("api.health").And.Contain("create").And.Contain("api#2");
    }

    [Fact]
    public async Task Health_checks_report_an_unreachable_endpoint_and_a_failing_process_as_unhealthy_without_failing_the_run()
    {
        var script = _dir.Write("health.csx", $$"""
            DefineConnector("down", new { type = "http", baseUrl = "http://127.0.0.1:{{LoopbackServer.FreePort()}}", health = new { path = "/health", timeoutMs = 5000 } });
            DefineConnector("broken", new { type = "process", command = "sh", args = new[] { "-c", "exit 4" } });
            DefineConnector("fine", new { type = "process", command = "true" });
            var down = await Connector("down").HealthAsync();
            var broken = await Connector("broken").HealthAsync();
            var fine = await Connector("fine").HealthAsync();
            return new { down, broken, fine };
            """);

        var result = await CliRunner.RunAsync("run", script, "--store", Store, "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        var health = JsonNode.Parse(result.LastLine)!["result"]!;
        health["down"]!["healthy"]!.GetValue<bool>().Should().BeFalse();
        health["down"]!["detail"]!.GetValue<string>().Should().StartWith("GET /health failed: ").And.Contain("refused");
        health["broken"]!["healthy"]!.GetValue<bool>().Should().BeFalse();
        health["broken"]!["detail"]!.GetValue<string>().Should().Be("exit code 4");
        health["fine"]!["healthy"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task A_script_defined_connector_takes_its_secret_from_the_environment_and_it_is_redacted()
    {
        var name = "ORCH_TEST_DEFINED_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        var secret = "sec-" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, secret);
        try
        {
            var script = _dir.Write("defined.js", $$"""
                defineConnector("printer", { type: "process", command: "sh", args: ["-c", "printf '%s:%s' \"$KEY\" \"$(cat)\""], env: { KEY: "${env:{{name}}}" } });
                const out = await connector("printer").call({ stdin: "hello" });
                return out.stdout;
                """);

            var result = await CliRunner.RunAsync("run", script, "--store", Store, "--json");

            result.ExitCode.Should().Be(0, result.ToString());
            JsonNode.Parse(result.LastLine)!["result"]!.GetValue<string>().Should().Be("***:hello", "the process got the secret, and the journal masks it");
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public async Task An_unknown_connector_fails_its_step_listing_the_known_ones()
    {
        _dir.Write("connectors.json", """{"connectors":{"billing":{"type":"process","command":"true"},"crm":{"type":"process","command":"true"}}}""");
        var script = _dir.Write("unknown.js", """await connector("biling").get("/x");""");

        var result = await CliRunner.RunAsync("run", script, "--store", Store);

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain("unknown connector 'biling'; known connectors: billing, crm");
    }

    [Theory]
    [InlineData("{\n  \"connectors\": {\n    \"a\": { \"type\": \"http\", }, oops\n  }\n}", "(3): invalid JSON")]
    [InlineData("""{"connectors":{"a":{"type":"ftp"}}}""", "connector 'a': 'type' must be \"http\" or \"process\"")]
    [InlineData("""{"connectors":{"a":{"type":"http"}}}""", "connector 'a': 'baseUrl' is required")]
    [InlineData("""{"connectors":{"a":{"type":"http","baseUrl":"http://x","header":{}}}}""", "connector 'a': unknown key(s) 'header'")]
    [InlineData("""{"connectors":{"a":{"type":"http","baseUrl":"http://x","health":{"path":5}}}}""", "connector 'a'.health: 'path' must be a string")]
    [InlineData("""{"connectors":{"a":{"type":"http","baseUrl":"http://x","headers":{"K":"${secret:NOPE}"}}}}""", "connector 'a'.headers.K: no secret 'NOPE'")]
    [InlineData("""{"connectors":{"a":{"type":"process","command":"x","env":{"K":"${env:ORCH_TEST_SURELY_UNSET_VAR}"}}}}""", "the environment variable 'ORCH_TEST_SURELY_UNSET_VAR' is not set")]
    public async Task A_bad_connectors_file_is_one_line_naming_the_file_and_exit_code_2(string content, string expected)
    {
        var file = _dir.Write("connectors.json", content);
        var script = _dir.Write("any.js", "return 1;");

        var result = await CliRunner.RunAsync("run", script, "--store", Store);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().Contain(file).And.Contain(expected);
        Directory.Exists(Path.Combine(Store, "reports")).Should().BeFalse("no run started");
    }

    [Fact]
    public async Task The_connectors_command_lists_each_connector_with_its_health_and_fails_if_one_is_unhealthy()
    {
        await using var server = new LoopbackServer((ctx, _) => LoopbackServer.Respond(ctx, 200, "ok"));
        var api = new JsonObject { ["type"] = "http", ["baseUrl"] = server.BaseUrl, ["health"] = new JsonObject { ["path"] = "/health" } };
        var tool = new JsonObject { ["type"] = "process", ["command"] = "sh", ["args"] = new JsonArray("-c", "exit 0") };
        var dead = new JsonObject { ["type"] = "process", ["command"] = "sh", ["args"] = new JsonArray("-c", "exit 9") };
        var file = _dir.Write("c.json", new JsonObject { ["connectors"] = new JsonObject { ["api"] = api, ["tool"] = tool } }.ToJsonString());
        var withDead = _dir.Write("d.json", new JsonObject { ["connectors"] = new JsonObject { ["dead"] = dead } }.ToJsonString());

        var healthy = await CliRunner.RunAsync("connectors", "--connectors", file, "--store", Store);
        var unhealthy = await CliRunner.RunAsync("connectors", "--connectors", withDead, "--store", Store);

        healthy.ExitCode.Should().Be(0, healthy.ToString());
        healthy.Stdout.Should().MatchRegex(@"api\s+http\s+http://127\.0\.0\.1:\d+/\s+healthy\s+[\d.]+\s+GET /health returned 200");
        healthy.Stdout.Should().MatchRegex(@"tool\s+process\s+sh\s+healthy\s+[\d.]+\s+exit code 0");
        server.Seen.Should().ContainSingle(r => r.PathAndQuery == "/health");
        unhealthy.ExitCode.Should().Be(1, unhealthy.ToString());
        unhealthy.Stdout.Should().MatchRegex(@"dead\s+process\s+sh\s+unhealthy\s+[\d.]+\s+exit code 9");
    }
}
