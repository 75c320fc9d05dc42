using System.Text.Json.Nodes;
using Orchestrator.Cli.Host;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Mcp;

/// <summary>
/// <c>mcp serve</c>'s run_workflow with the host rules of <c>orchestrator run</c>: a real <c>serve</c> process runs what
/// an MCP client submits, unless <c>--no-host</c>.
/// </summary>
public sealed class McpHostTests : IDisposable
{
    // The host's store and scripts folder; its token, for the API and for mcp serve through ORCHESTRATOR_TOKEN.
    private readonly TempDirectory _dir = new();
    private const string Token = "mcp-host-test-token-0123456789";

    private string HostStore => Path.Combine(_dir.Path, "host-store");

    private string Scripts => Path.Combine(_dir.Path, "scripts");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Run_workflow_with_host_runs_on_that_host_and_answers_with_its_result()
    {
        var script = _dir.Write("scripts/ran-by.csx", McpServeProcess.RanBy);
        using var serve = await StartHostAsync();
        using var api = Api(HostUrl);
        var ownStore = Path.Combine(_dir.Path, "mcp-store");
        await using var client = await McpServeProcess.StartAsync(Scripts, ["--store", ownStore, "--host", HostUrl], new() { ["ORCHESTRATOR_TOKEN"] = Token });

        var run = await McpServeProcess.RunAsync(client, script);

        run["status"]!.GetValue<string>().Should().Be("succeeded", run.ToJsonString());
        run["result"]!["doubled"]!.GetValue<int>().Should().Be(42);
        run["result"]!["pid"]!.GetValue<int>().Should().Be(serve.Id, "the host's process ran it");
        var runId = run["runId"]!.GetValue<string>();
        var hostRuns = JsonNode.Parse(await api.GetStringAsync("/api/runs"))!.AsArray();
        hostRuns.Select(r => r!["id"]!.GetValue<string>()).Should().Equal(runId);
        await using (var journal = SqliteJournal.Open(HostStore))
        {
            (await journal.GetRunAsync(runId, CancellationToken.None))!.Pid.Should().Be(serve.Id);
        }

        JsonNode.Parse(McpServeProcess.Text(await client.CallToolAsync("list_runs", new Dictionary<string, object?>())))!.AsArray()
            .Should().BeEmpty("nothing ran in the MCP server's own store");
    }

    [Fact]
    public async Task Run_workflow_over_a_store_a_host_serves_goes_to_that_host_and_with_no_host_runs_in_process_with_the_same_answer()
    {
        var script = _dir.Write("scripts/ran-by.csx", McpServeProcess.RanBy);
        using var serve = await StartHostAsync();

        // The host and its token come from the store's host.json.
        await using var served = await McpServeProcess.StartAsync(Scripts, ["--store", HostStore]);
        var remote = await McpServeProcess.RunAsync(served, script);
        await using var inProcess = await McpServeProcess.StartAsync(Scripts, ["--store", HostStore, "--no-host"]);
        var local = await McpServeProcess.RunAsync(inProcess, script);

        remote["result"]!["pid"]!.GetValue<int>().Should().Be(serve.Id, remote.ToJsonString());
        local["status"]!.GetValue<string>().Should().Be("succeeded", local.ToJsonString());
        var localPid = local["result"]!["pid"]!.GetValue<int>();
        localPid.Should().NotBe(serve.Id, "--no-host runs in the MCP server's own process");
        await using (var journal = SqliteJournal.Open(HostStore))
        {
            (await journal.GetRunAsync(local["runId"]!.GetValue<string>(), CancellationToken.None))!.Pid.Should().Be(localPid);
        }

        remote.AsObject().Select(p => p.Key).Should().Equal(local.AsObject().Select(p => p.Key), "the answer has the same shape either way");
        remote["result"]!["doubled"]!.GetValue<int>().Should().Be(local["result"]!["doubled"]!.GetValue<int>());
        remote["steps"]!.GetValue<int>().Should().Be(local["steps"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("--host")]
    [InlineData("ORCHESTRATOR_HOST")]
    public async Task A_named_host_that_cannot_be_reached_is_one_tool_error_and_nothing_runs(string namedBy)
    {
        var script = _dir.Write("scripts/ran-by.csx", McpServeProcess.RanBy);
        var store = Path.Combine(_dir.Path, "mcp-store");
        const string Unreachable = "http://127.0.0.1:1";
        await using var client = namedBy == "--host"
            ? await McpServeProcess.StartAsync(Scripts, ["--store", store, "--host", Unreachable])
            : await McpServeProcess.StartAsync(Scripts, ["--store", store], new() { ["ORCHESTRATOR_HOST"] = Unreachable });

        var refused = await client.CallToolAsync("run_workflow", new Dictionary<string, object?> { ["script"] = script, ["input"] = """{"n":1}""" });

        refused.IsError.Should().BeTrue();
        McpServeProcess.Text(refused).Should().Contain("cannot reach the host at http://127.0.0.1:1/").And.NotContain("\n");
        JsonNode.Parse(McpServeProcess.Text(await client.CallToolAsync("list_runs", new Dictionary<string, object?>())))!.AsArray()
            .Should().BeEmpty("a host named explicitly is never replaced by this process");
    }

    [Fact]
    public async Task A_host_that_is_not_a_url_is_one_line_and_exit_code_2_before_serving()
    {
        using var mcp = OrchestratorProcess.Start(_dir.Path, "mcp", "serve", "--store", HostStore, "--host", "not-a-url");
        var result = await mcp.WaitForExitAsync();

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Trim().Should().Be("orchestrator: --host: 'not-a-url' is not an absolute URL");
        result.Stdout.Should().BeEmpty("nothing was served");
    }

    [Fact]
    public async Task Cancelling_the_tool_call_cancels_the_run_on_the_host()
    {
        var script = _dir.Write("scripts/waits.csx", """
            await Step("before", () => 1);
            return await Step("wait", async () => { await Task.Delay(Timeout.Infinite, CancellationToken); return 2; });
            """);
        using var serve = await StartHostAsync();
        using var api = Api(HostUrl);
        await using var client = await McpServeProcess.StartAsync(Scripts, ["--store", HostStore]);
        using var cancel = new CancellationTokenSource();

        var call = client.CallToolAsync("run_workflow", new Dictionary<string, object?> { ["script"] = script }, cancellationToken: cancel.Token).AsTask();
        string? runId = null;
        await serve.WaitUntilAsync(() => (runId = RunningStep(api, "wait")) is not null, "the run to wait on the host");
        await cancel.CancelAsync();

        await FluentActions.Awaiting(() => call).Should().ThrowAsync<OperationCanceledException>();
        await serve.WaitUntilAsync(() => Status(api, runId!) == "cancelled", "the host to cancel the run");
    }

    private async Task<OrchestratorProcess> StartHostAsync()
    {
        Directory.CreateDirectory(Scripts);
        var serve = OrchestratorProcess.Start(_dir.Path, "serve", "--store", HostStore, "--scripts", Scripts, "--urls", "http://127.0.0.1:0", "--token", Token);
        await serve.WaitUntilAsync(() => HostFile.Read(HostStore) is not null && serve.Stdout.Contains("serving on", StringComparison.Ordinal), "the host to serve");
        return serve;
    }

    private string HostUrl => HostFile.Read(HostStore)!.Url;

    private static HttpClient Api(string url)
    {
        var api = new HttpClient { BaseAddress = new Uri(url) };
        api.DefaultRequestHeaders.Authorization = new("Bearer", Token);
        return api;
    }

    /// <summary>The id of the host's run whose step <paramref name="stepId"/> runs, if one does yet.</summary>
    private static string? RunningStep(HttpClient api, string stepId)
    {
        foreach (var run in JsonNode.Parse(api.GetStringAsync("/api/runs").GetAwaiter().GetResult())!.AsArray())
        {
            var id = run!["id"]!.GetValue<string>();
            var shown = JsonNode.Parse(api.GetStringAsync($"/api/runs/{id}").GetAwaiter().GetResult())!;
            if (shown["steps"]!.AsArray().Any(s => s!["id"]!.GetValue<string>() == stepId && s["status"]!.GetValue<string>() == "running"))
            {
                return id;
            }
        }

        return null;
    }

    private static string Status(HttpClient api, string runId) =>
        JsonNode.Parse(api.GetStringAsync($"/api/runs/{runId}").GetAwaiter().GetResult())!["status"]!.GetValue<string>();
}
