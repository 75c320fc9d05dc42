using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Mcp;

/// <summary><c>orchestrator mcp serve</c> driven by the MCP SDK's own client over stdio, as an IDE or assistant would.</summary>
public sealed class McpServeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task An_mcp_client_lists_the_tools_runs_a_workflow_and_reads_back_the_run_and_its_report()
    {
        var store = Path.Combine(_dir.Path, "store");
        var script = _dir.Write("flow/served.csx", """
            var doubled = await Step("double", () => Input!["n"]!.GetValue<int>() * 2);
            await Handoff("served", new { doubled });
            return doubled;
            """);
        await using var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "orchestrator",
            Command = "dotnet",
            Arguments = [OrchestratorProcess.DllPath, "mcp", "serve", "--store", store, "--scripts", _dir.Path],
        }));

        var tools = await client.ListToolsAsync();
        tools.Select(t => t.Name).Should().BeEquivalentTo("run_workflow", "list_runs", "show_run", "get_report", "list_reviews", "decide_review", "approve_run", "signal_run");

        var run = JsonNode.Parse(Text(await client.CallToolAsync("run_workflow", new Dictionary<string, object?> { ["script"] = script, ["input"] = """{"n":21}""" })))!;
        run["status"]!.GetValue<string>().Should().Be("succeeded", run.ToJsonString());
        run["result"]!.GetValue<int>().Should().Be(42);
        var runId = run["runId"]!.GetValue<string>();

        var runs = JsonNode.Parse(Text(await client.CallToolAsync("list_runs", new Dictionary<string, object?>())))!.AsArray();
        runs.Select(r => r!["id"]!.GetValue<string>()).Should().Equal(runId);

        var shown = JsonNode.Parse(Text(await client.CallToolAsync("show_run", new Dictionary<string, object?> { ["id"] = runId })))!;
        shown["steps"]!.AsArray().Select(s => s!["id"]!.GetValue<string>()).Should().Equal("double", "served");

        var report = Text(await client.CallToolAsync("get_report", new Dictionary<string, object?> { ["id"] = runId }));
        report.Should().Contain(runId).And.Contain("| doubled | 42 |");

        var missing = await client.CallToolAsync("show_run", new Dictionary<string, object?> { ["id"] = "nope" });
        missing.IsError.Should().BeTrue();
        Text(missing).Should().Contain("no run with id 'nope'");
    }

    [Fact]
    public async Task An_mcp_client_lists_the_review_queue_and_approves_a_recommendation()
    {
        var store = Path.Combine(_dir.Path, "store");
        await PendingReview.AddAsync(store);

        await using var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "orchestrator",
            Command = "dotnet",
            Arguments = [OrchestratorProcess.DllPath, "mcp", "serve", "--store", store],
        }));

        var pending = JsonNode.Parse(Text(await client.CallToolAsync("list_reviews", new Dictionary<string, object?>())))!.AsArray();
        pending.Should().ContainSingle().Which!["summary"]!.GetValue<string>().Should().Be(PendingReview.Summary);

        var decided = JsonNode.Parse(Text(await client.CallToolAsync("decide_review", new Dictionary<string, object?> { ["id"] = 1, ["decision"] = "approve" })))!;
        decided["status"]!.GetValue<string>().Should().Be("approved");
        JsonNode.Parse(Text(await client.CallToolAsync("list_reviews", new Dictionary<string, object?>())))!.AsArray().Should().BeEmpty();

        var again = await client.CallToolAsync("decide_review", new Dictionary<string, object?> { ["id"] = 1, ["decision"] = "reject" });
        again.IsError.Should().BeTrue();
        Text(again).Should().Contain("no pending recommendation #1");
    }

    [Fact]
    public async Task Run_workflow_refuses_a_script_outside_the_scripts_folder_as_a_tool_error()
    {
        var store = Path.Combine(_dir.Path, "store");
        var inside = _dir.Write("allowed/ok.csx", """return await Step("ok", () => 1);""");
        var outside = _dir.Write("elsewhere/evil.csx", """return await Step("evil", () => 2);""");
        await using var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "orchestrator",
            Command = "dotnet",
            Arguments = [OrchestratorProcess.DllPath, "mcp", "serve", "--store", store, "--scripts", Path.Combine(_dir.Path, "allowed")],
        }));

        var refused = await client.CallToolAsync("run_workflow", new Dictionary<string, object?> { ["script"] = outside });
        refused.IsError.Should().BeTrue();
        Text(refused).Should().Contain("outside the scripts folder");
        var escaping = await client.CallToolAsync("run_workflow", new Dictionary<string, object?> { ["script"] = "../elsewhere/evil.csx" });
        escaping.IsError.Should().BeTrue();

        var allowed = JsonNode.Parse(Text(await client.CallToolAsync("run_workflow", new Dictionary<string, object?> { ["script"] = "ok.csx" })))!;
        allowed["status"]!.GetValue<string>().Should().Be("succeeded", allowed.ToJsonString());
        JsonNode.Parse(Text(await client.CallToolAsync("list_runs", new Dictionary<string, object?>())))!.AsArray()
            .Select(r => r!["script"]!.GetValue<string>()).Should().Equal(inside);
    }

    private static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(b => b.Text));
}
