using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Cluster;

/// <summary>
/// A real <c>serve --cluster</c> process on loopback (failure timeout 3 s), in a folder of its own under a test's
/// directory, serving the directory's <c>scripts</c>, with an HTTP client that carries the shared token.
/// </summary>
internal sealed record ClusterTestNode(string Name, string Url, OrchestratorProcess Process, HttpClient Client)
{
    public const string Token = "cluster-test-token-0123456789";

    public static async Task<ClusterTestNode> StartAsync(string directory, string store, string name)
    {
        var folder = Directory.CreateDirectory(Path.Combine(directory, name + "-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var process = OrchestratorProcess.Start(folder, "serve", "--cluster", store, "--node", name, "--urls", "http://127.0.0.1:0",
            "--scripts", Path.Combine(directory, "scripts"), "--token", Token, "--failure-timeout", "3");
        await process.WaitUntilAsync(() => process.Stdout.Contains("serving on ", StringComparison.Ordinal), $"node {name} to serve");
        var line = process.Stdout.Split('\n').First(l => l.StartsWith("serving on ", StringComparison.Ordinal));
        var url = line["serving on ".Length..].Split(' ')[0].TrimEnd('/');
        var client = new HttpClient { BaseAddress = new Uri(url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return new ClusterTestNode(name, url, process, client);
    }

    /// <summary>Waits until this node sees <paramref name="count"/> nodes in the cluster; returns them as <c>/api/system</c> lists them.</summary>
    public async Task<JsonArray> WaitForNodesAsync(int count)
    {
        JsonArray nodes = [];
        await Process.WaitUntilAsync(() =>
        {
            nodes = JsonNode.Parse(Client.GetStringAsync("/api/system").GetAwaiter().GetResult())!["nodes"]!.AsArray();
            return nodes.Count == count;
        }, $"{count} nodes in the cluster");
        return nodes;
    }

    /// <summary>Submits a run of <paramref name="script"/> to the cluster through this node: its id and the node it was placed on.</summary>
    public async Task<(string Id, string Node)> SubmitAsync(string script, JsonObject input)
    {
        using var response = await Client.PostAsJsonAsync("/api/runs", new JsonObject { ["script"] = script, ["input"] = input });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        response.IsSuccessStatusCode.Should().BeTrue(body.ToJsonString());
        return (body["id"]!.GetValue<string>(), body["node"]!.GetValue<string>());
    }

    /// <summary>The run as this node shows it (<c>GET /api/runs/{id}</c>), once <paramref name="condition"/> holds.</summary>
    public async Task<JsonNode> WaitForRunAsync(string id, Func<JsonNode, bool> condition, string what)
    {
        JsonNode? run = null;
        await Process.WaitUntilAsync(() =>
        {
            run = JsonNode.Parse(Client.GetStringAsync($"/api/runs/{id}").GetAwaiter().GetResult())!;
            return condition(run);
        }, $"run {id}: {what}");
        return run!;
    }

    /// <summary>The run once it is no longer running.</summary>
    public Task<JsonNode> WaitForEndAsync(string id) => WaitForRunAsync(id, r => r["status"]!.GetValue<string>() is not "running", "to end");
}
