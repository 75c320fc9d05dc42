using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Npgsql;
using Orchestrator.Tests.Cluster;
using Orchestrator.Tests.Store;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Mcp;

/// <summary><c>mcp serve --host</c> at a node of a one-node cluster (a real <c>serve --cluster</c> process over the throwaway PostgreSQL server).</summary>
[Collection(nameof(ClusterProcessTests))]
public sealed class McpClusterTests(PostgresTestDatabase database) : IClassFixture<PostgresTestDatabase>, IDisposable
{
    private const string Token = "mcp-cluster-test-token-0123456789";

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_run_submitted_through_mcp_is_placed_on_the_cluster_node()
    {
        var store = database.NewStore();
        var script = _dir.Write("scripts/ran-by.csx", """
            var doubled = await Step("double", () => Input!["n"]!.GetValue<int>() * 2);
            return new { doubled, pid = await Step("pid", () => Environment.ProcessId) };
            """);
        var scripts = Path.GetDirectoryName(script)!;
        using var node = OrchestratorProcess.Start(_dir.Path, "serve", "--cluster", store, "--node", "n1", "--urls", "http://127.0.0.1:0", "--scripts", scripts, "--token", Token);
        await node.WaitUntilAsync(() => node.Stdout.Contains("serving on ", StringComparison.Ordinal), "node n1 to serve");
        var url = node.Stdout.Split('\n').First(l => l.StartsWith("serving on ", StringComparison.Ordinal))["serving on ".Length..].Split(' ')[0].Trim();
        using var api = new HttpClient { BaseAddress = new Uri(url) };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        await using var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "orchestrator",
            Command = "dotnet",
            Arguments = [OrchestratorProcess.DllPath, "mcp", "serve", "--store", Path.Combine(_dir.Path, "mcp-store"), "--scripts", scripts, "--host", url],
            EnvironmentVariables = new Dictionary<string, string?> { ["ORCHESTRATOR_TOKEN"] = Token },
        }));

        var answer = await client.CallToolAsync("run_workflow", new Dictionary<string, object?> { ["script"] = script, ["input"] = """{"n":21}""" });

        var text = string.Concat(answer.Content.OfType<TextContentBlock>().Select(b => b.Text));
        answer.IsError.Should().NotBe(true, text);
        var run = JsonNode.Parse(text)!;
        run["status"]!.GetValue<string>().Should().Be("succeeded", text);
        run["result"]!["doubled"]!.GetValue<int>().Should().Be(42);
        run["result"]!["pid"]!.GetValue<int>().Should().Be(node.Id, "the node's process ran it");
        var runId = run["runId"]!.GetValue<string>();
        JsonNode.Parse(await api.GetStringAsync("/api/runs"))!.AsArray().Select(r => r!["id"]!.GetValue<string>()).Should().Equal(runId);
        await using var data = NpgsqlDataSource.Create(store);
        await using var drivenBy = data.CreateCommand("SELECT pid FROM runs WHERE id = @id");
        drivenBy.Parameters.AddWithValue("id", runId);
        ((int)(await drivenBy.ExecuteScalarAsync())!).Should().Be(node.Id, "the cluster's journal names the node's process");
    }
}
