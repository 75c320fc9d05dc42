using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Agents.Tests;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Connectors;

/// <summary>
/// A secret given to a connector (from a secrets file and from the environment) is used for real, echoed back by
/// the systems it reaches, put in step outputs, errors, the log and the handoff by the script — and is in none of
/// the store's files: log files, the SQLite journal (with its WAL) and the reports.
/// </summary>
public sealed class ConnectorSecretsTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private readonly string _token = "tok-" + Guid.NewGuid().ToString("N");
    private readonly string _envSecret = "env-" + Guid.NewGuid().ToString("N");
    private readonly string _envName = "ORCH_TEST_TOOL_KEY_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
    private readonly string _portName = "ORCH_TEST_PORT_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
    private readonly string _stageName = "ORCH_TEST_STAGE_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
    private LoopbackServer _server = null!;

    private string Store => Path.Combine(_dir.Path, "store");

    public Task InitializeAsync()
    {
        _server = new LoopbackServer(async (ctx, seen) =>
        {
            var authorized = seen.Headers.GetValueOrDefault("Authorization") == "Bearer " + _token;
            var (status, body) = (authorized, seen.PathAndQuery) switch
            {
                (false, _) => (401, """{"error":"no"}"""),
                (true, "/health") => (200, """{"ok":true}"""),
                (true, "/whoami") => (200, new JsonObject { ["token"] = seen.Headers["Authorization"] }.ToJsonString()),
                _ => (500, new JsonObject { ["error"] = "upstream rejected key " + _token }.ToJsonString()),
            };
            await LoopbackServer.Respond(ctx, status, body, "application/json");
        });
        Environment.SetEnvironmentVariable(_envName, _envSecret);
        Environment.SetEnvironmentVariable(_portName, "8080");
        Environment.SetEnvironmentVariable(_stageName, "dev");
        _dir.Write("secrets.json", new JsonObject { ["BILLING_TOKEN"] = _token }.ToJsonString());
        _dir.Write("connectors.json", $$"""
            {
              // the secrets file is read relative to this file
              "secretsFile": "secrets.json",
              "connectors": {
                "billing": {
                  "type": "http",
                  "baseUrl": "{{_server.BaseUrl}}",
                  "headers": { "Authorization": "Bearer ${secret:BILLING_TOKEN}" },
                  "health": { "path": "/health" }
                },
                "tool": {
                  "type": "process",
                  "command": "sh",
                  "args": ["-c", "echo \"key=$TOOL_KEY\"; if [ \"$1\" = fail ]; then echo \"rejected $TOOL_KEY\" >&2; exit 3; fi", "tool"],
                  "env": { "TOOL_KEY": "${env:{{_envName}}}" },
                  "health": { "args": ["ok"] }
                },
                "conf": {
                  "type": "process",
                  "command": "sh",
                  "args": ["-c", "echo \"port=$PORT stage=$STAGE token=$TOKEN\""],
                  "env": { "PORT": "${env:{{_portName}}}", "STAGE": "${env:{{_stageName}}}", "TOKEN": "${secret:BILLING_TOKEN}" }
                }
              }
            }
            """);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        Environment.SetEnvironmentVariable(_envName, null);
        Environment.SetEnvironmentVariable(_portName, null);
        Environment.SetEnvironmentVariable(_stageName, null);
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_connector_secret_never_reaches_the_log_the_journal_or_the_reports_of_a_csx_workflow()
    {
        var script = _dir.Write("uses-secrets.csx", """
            var health = await Connector("billing").HealthAsync();
            var me = await Connector("billing").GetAsync("/whoami");
            var echoed = me!["json"]!["token"]!.GetValue<string>();
            Log("billing says " + echoed);
            string failure;
            try { await Connector("billing").GetAsync("/boom", name: "boom"); failure = "none"; }
            catch (StepFailedException ex) { failure = ex.Reason; }
            var tool = await Connector("tool").RunAsync("ok");
            string toolFailure;
            try { await Connector("tool").RunAsync("fail"); toolFailure = "none"; }
            catch (StepFailedException ex) { toolFailure = ex.Reason; }
            Log("tool failed: " + toolFailure);
            await Handoff("secrets", new { health, echoed, failure, tool = tool!["stdout"]!.GetValue<string>(), toolFailure });
            return new { echoed, failure, tool = tool!["stdout"]!.GetValue<string>().Trim(), toolFailure };
            """);

        await RunAndCheckAsync(script);
    }

    [Fact]
    public async Task A_connector_secret_never_reaches_the_log_the_journal_or_the_reports_of_a_js_workflow()
    {
        var script = _dir.Write("uses-secrets.js", """
            const health = await connector("billing").health();
            const me = await connector("billing").get("/whoami");
            log("billing says " + me.json.token);
            let failure = "none";
            try { await connector("billing").get("/boom", "boom"); } catch (e) { failure = e.reason; }
            const tool = await connector("tool").run("ok");
            let toolFailure = "none";
            try { await connector("tool").run("fail"); } catch (e) { toolFailure = e.reason; }
            log("tool failed: " + toolFailure);
            await handoff("secrets", { health, echoed: me.json.token, failure, tool: tool.stdout, toolFailure });
            return { echoed: me.json.token, failure, tool: tool.stdout.trim(), toolFailure };
            """);

        await RunAndCheckAsync(script);
    }

    [Fact]
    public async Task A_numeric_or_short_environment_value_round_trips_through_a_run_and_its_resume_while_a_declared_secret_stays_masked()
    {
        // PORT=8080 and STAGE=dev come from the environment like any credential would; they are configuration, and
        // masking them as text turned {"port":8080} into {"port":***}, which no longer parses.
        var gate = Path.Combine(_dir.Path, "gate");
        var script = _dir.Write("config.csx", $$"""
            var conf = await Connector("conf").RunAsync();
            var line = conf!["stdout"]!.GetValue<string>().Trim();
            var checkedIn = await Step("gate", () => File.Exists(@"{{gate}}") ? new { port = 8080, stage = "dev", line } : throw new InvalidOperationException("the gate is closed"));
            return new { port = Input!["port"]!.GetValue<int>(), stage = Input!["stage"]!.GetValue<string>(), line, checkedIn };
            """);

        var first = await CliRunner.RunAsync("run", script, "--store", Store, "--input", """{"port":8080,"stage":"dev"}""", "--json");
        first.ExitCode.Should().Be(1, first.ToString());
        var id = JsonNode.Parse(first.LastLine)!["runId"]!.GetValue<string>();

        File.WriteAllText(gate, "");
        var resumed = await CliRunner.RunAsync("resume", id, "--store", Store, "--json");

        resumed.ExitCode.Should().Be(0, resumed.ToString());
        var expected = JsonNode.Parse("""
            { "port": 8080, "stage": "dev", "line": "port=8080 stage=dev token=***",
              "checkedIn": { "port": 8080, "stage": "dev", "line": "port=8080 stage=dev token=***" } }
            """);
        // The resumed process reads the run's input, the connector's output and the gate's from the journal.
        JsonNode.DeepEquals(JsonNode.Parse(resumed.LastLine)!["result"], expected).Should().BeTrue(resumed.LastLine);
        await NoFileHoldsASecretAsync();
    }

    private async Task NoFileHoldsASecretAsync()
    {
        foreach (var file in Directory.EnumerateFiles(Store, "*", SearchOption.AllDirectories))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            foreach (var secret in new[] { _token, _envSecret })
            {
                Contains(bytes, secret).Should().BeFalse($"{file} must not contain a secret");
            }
        }
    }

    private async Task RunAndCheckAsync(string script)
    {
        var result = await CliRunner.RunAsync("run", script, "--store", Store, "--json");

        result.ExitCode.Should().Be(0, result.ToString());

        // The secrets were really used: the server got the token, the process the environment secret.
        _server.Seen.Should().Contain(r => r.PathAndQuery == "/whoami" && r.Headers["Authorization"] == "Bearer " + _token);
        var outcome = JsonNode.Parse(result.LastLine)!;
        var value = outcome["result"]!;
        value["echoed"]!.GetValue<string>().Should().Be("Bearer ***", "the echoed token is redacted in the journaled result");
        value["failure"]!.GetValue<string>().Should().Contain("returned 500");
        value["tool"]!.GetValue<string>().Should().Be("key=***");
        value["toolFailure"]!.GetValue<string>().Should().Contain("exited with code 3").And.Contain("rejected ***");

        var files = Directory.EnumerateFiles(Store, "*", SearchOption.AllDirectories).ToList();
        files.Should().Contain(f => f.EndsWith("journal.db", StringComparison.Ordinal));
        files.Should().Contain(f => f.Contains($"{Path.DirectorySeparatorChar}logs{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        files.Where(f => f.Contains($"{Path.DirectorySeparatorChar}reports{Path.DirectorySeparatorChar}", StringComparison.Ordinal)).Should().HaveCount(3);
        await NoFileHoldsASecretAsync();

        // What the secrets were in is there, masked: the log line, the report, the failed step's output.
        var log = string.Join("\n", files.Where(f => f.EndsWith(".log", StringComparison.Ordinal)).Select(ReadShared));
        log.Should().Contain("billing says Bearer ***").And.Contain("tool failed: ").And.Contain("rejected ***");
        var report = await File.ReadAllTextAsync(outcome["report"]!.GetValue<string>());
        report.Should().Contain("Bearer ***");
        result.Stdout.Should().NotContain(_token).And.NotContain(_envSecret);
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static bool Contains(byte[] haystack, string needle) =>
        haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0
        || haystack.AsSpan().IndexOf(Encoding.Unicode.GetBytes(needle)) >= 0;
}
