using System.Text.Json.Nodes;
using Orchestrator.Tests.Mcp;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Cli;

/// <summary>A .js workflow's <c>export default</c> result through the real commands: run, resume and <c>mcp serve</c>.</summary>
public sealed class JavaScriptResultCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string Store => Path.Combine(_dir.Path, "store");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_run_resumed_by_the_cli_replays_its_steps_and_ends_with_the_export_default_value()
    {
        var marker = Path.Combine(_dir.Path, "go");
        var script = _dir.Write("flow.js", $$"""
            const first = await step("first", async () => 20);
            await agent("shell").run({ command: "test", args: ["-f", "{{marker}}"] }, "gate");
            export default { total: first + 22 };
            """);

        var failed = await CliRunner.RunAsync("run", script, "--store", Store, "--json");
        failed.ExitCode.Should().Be(1, failed.ToString());
        var runId = JsonNode.Parse(failed.LastLine)!["runId"]!.GetValue<string>();
        File.WriteAllText(marker, "");

        var resumed = await CliRunner.RunAsync("resume", runId, "--store", Store, "--json");

        resumed.ExitCode.Should().Be(0, resumed.ToString());
        JsonNode.Parse(resumed.LastLine)!["result"]!.ToJsonString().Should().Be("""{"total":42}""");
    }

    [Fact]
    public async Task Mcp_serve_answers_run_workflow_with_the_export_default_value()
    {
        var scripts = Path.Combine(_dir.Path, "scripts");
        _dir.Write("scripts/doubled.js", "const doubled = await step(\"double\", async () => input.n * 2);\nexport default { doubled };\n");
        await using var client = await McpServeProcess.StartAsync(scripts, ["--store", Store, "--no-host"]);

        var run = await McpServeProcess.RunAsync(client, "doubled.js");

        run["status"]!.GetValue<string>().Should().Be("succeeded", run.ToJsonString());
        run["result"]!.ToJsonString().Should().Be("""{"doubled":42}""");
    }
}
