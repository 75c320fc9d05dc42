using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Orchestrator.Tests.Cluster;
using Orchestrator.Tests.Store;
using Orchestrator.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace Orchestrator.Tests.Dashboard;

/// <summary>
/// The System page's Nodes card in a real Chromium, on two real <c>serve --cluster</c> processes over one fresh PostgreSQL
/// store. In the cluster collection: node failure detection is timing, so these nodes run alone, as the other cluster
/// processes do.
/// </summary>
[Collection(nameof(ClusterProcessTests))]
public sealed partial class DashboardNodesTests(BrowserFixture browser, PostgresTestDatabase database)
    : IClassFixture<BrowserFixture>, IClassFixture<PostgresTestDatabase>, IAsyncLifetime
{
    private const string Token = "dashboard-nodes-token-0123456789";

    /// <summary>Shell steps, the middle one held until the test creates the file named by the input's "flag".</summary>
    private const string HoldScript = """
        await agent("shell").run({ command: "echo", args: ["start"] }, "start");
        await agent("shell").run({ command: "sh", args: ["-c", 'while [ ! -e "$0" ]; do sleep 0.1; done', input.flag] }, "hold");
        return (await agent("shell").run({ command: "echo", args: ["done"] }, "finish")).stdout.trim();
        """;

    /// <summary>Uncaught script errors of this test's pages: any fails the test.</summary>
    private readonly List<string> _pageErrors = [];
    private readonly TempDirectory _dir = new();
    private readonly List<Node> _nodes = [];

    [Fact]
    public async Task The_nodes_card_shows_both_nodes_marks_this_one_and_follows_a_run_and_a_killed_node_live()
    {
        var store = database.NewStore();
        _dir.Write("scripts/hold.js", HoldScript);
        var first = await StartNodeAsync(store, "n1");
        var second = await StartNodeAsync(store, "n2");
        var listed = await WaitForNodesAsync(first, 2);

        var page = await browser.NewPageAsync(_pageErrors);
        await page.GotoAsync($"{first.Url}/?token={Token}#/system");
        await page.EvaluateAsync("() => { window.sameDocument = true; }");
        var rows = page.Locator("#nodes-table tbody tr");
        await Expect(rows).ToHaveCountAsync(2);
        await Expect(page.Locator("#nodes .card-head")).ToContainTextAsync("this is n1");

        // Each node with its name, address, up since, runs owned and agent steps in flight, as the API has them.
        foreach (var listedNode in listed)
        {
            var name = listedNode!["name"]!.GetValue<string>();
            var row = Row(page, name);
            await Expect(row.Locator(".node-name")).ToContainTextAsync(name);
            await Expect(row.Locator(".node-address")).ToHaveTextAsync(listedNode["address"]!.GetValue<string>());
            await Expect(row.Locator(".node-up time")).ToHaveAttributeAsync("datetime", listedNode["upSince"]!.GetValue<string>());
            await Expect(row.Locator(".node-runs")).ToHaveTextAsync("0");
            await Expect(row.Locator(".node-steps")).ToHaveTextAsync("0");
        }

        // This node is marked, the other is a link to its own dashboard.
        await Expect(Row(page, "n1")).ToHaveAttributeAsync("aria-current", "true");
        await Expect(Row(page, "n1").Locator(".node-name")).ToContainTextAsync("this node");
        await Expect(Row(page, "n2")).Not.ToHaveAttributeAsync("aria-current", "true");
        await Expect(Row(page, "n2").Locator(".node-name")).Not.ToContainTextAsync("this node");
        var link = Row(page, "n2").GetByRole(AriaRole.Link, new() { Name = "n2" });
        await Expect(link).ToHaveAttributeAsync("href", $"{second.Url}/#/system");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Runs in flight on this node" })).ToBeVisibleAsync();

        // The mark follows the theme as the rest of the page does (its colours from the theme's variables).
        (await TagColoursAsync(page)).Should().Be("rgb(47, 98, 208) on rgb(230, 238, 255)");
        var dark = await browser.NewPageAsync(_pageErrors, ColorScheme.Dark);
        await dark.GotoAsync($"{first.Url}/?token={Token}#/system");
        await Expect(dark.Locator("html")).ToHaveAttributeAsync("data-theme", "dark");
        (await TagColoursAsync(dark)).Should().Be("rgb(122, 162, 255) on rgb(31, 43, 68)");
        await dark.Context.CloseAsync();

        // Reached with the keyboard, and kept focused while the card refreshes under it.
        await page.Locator("#nodes h2").ClickAsync();
        await page.Keyboard.PressAsync("Tab");
        await Expect(link).ToBeFocusedAsync();

        // A run in flight on the cluster: its owner's runs owned and one node's agent step in flight show up live.
        var flag = Path.Combine(_dir.Path, "release.flag");
        var (id, owner) = await SubmitAsync(second, "hold.js", new JsonObject { ["flag"] = flag });
        var other = owner == "n1" ? "n2" : "n1";
        await Expect(Row(page, owner).Locator(".node-runs")).ToHaveTextAsync("1");
        await Expect(Row(page, other).Locator(".node-runs")).ToHaveTextAsync("0");
        await Expect(page.Locator("#nodes-table .node-steps", new() { HasTextRegex = OneRegex() })).ToHaveCountAsync(1);
        await Expect(link).ToBeFocusedAsync();
        await BrowserFixture.SaveScreenshotAsync(page, "system-nodes.png");

        File.WriteAllText(flag, "go");
        await WaitForEndAsync(second, id);
        await Expect(Row(page, owner).Locator(".node-runs")).ToHaveTextAsync("0");
        await Expect(page.Locator("#nodes-table .node-steps", new() { HasTextRegex = OneRegex() })).ToHaveCountAsync(0);

        // A node that dies leaves the card once the cluster has declared it dead (failure timeout 3 s).
        await second.Process.KillAsync();
        await Expect(Row(page, "n2")).ToHaveCountAsync(0, new() { Timeout = (float)OrchestratorProcess.DefaultTimeout.TotalMilliseconds });
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(Row(page, "n1").Locator(".node-name")).ToContainTextAsync("this node");
        (await page.EvaluateAsync<bool>("() => window.sameDocument === true")).Should().BeTrue("the card updated without a reload");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Closes this test's pages (they would go on polling nodes that stop), stops the nodes, then checks the pages' errors.</summary>
    public async Task DisposeAsync()
    {
        foreach (var context in browser.Browser.Contexts)
        {
            await context.CloseAsync();
        }

        foreach (var node in _nodes)
        {
            node.Client.Dispose();
            node.Process.Dispose();
        }

        _dir.Dispose();
        _pageErrors.Should().BeEmpty("the dashboard's scripts ran without an uncaught error");
    }

    private static async Task<string> TagColoursAsync(IPage page)
    {
        var tag = page.Locator("#nodes-table tr[aria-current='true'] .tag");
        await Expect(tag).ToHaveTextAsync("this node");
        return await tag.EvaluateAsync<string>("t => { const s = getComputedStyle(t); return `${s.color} on ${s.backgroundColor}`; }");
    }

    private static ILocator Row(IPage page, string node) => page.Locator($"#nodes-table tbody tr[data-node='{node}']");

    private async Task<Node> StartNodeAsync(string store, string name)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir.Path, name)).FullName;
        var process = OrchestratorProcess.Start(folder, "serve", "--cluster", store, "--node", name, "--urls", "http://127.0.0.1:0",
            "--scripts", Path.Combine(_dir.Path, "scripts"), "--token", Token, "--failure-timeout", "3");
        await process.WaitUntilAsync(() => process.Stdout.Contains("serving on ", StringComparison.Ordinal), $"node {name} to serve");
        var line = process.Stdout.Split('\n').First(l => l.StartsWith("serving on ", StringComparison.Ordinal));
        var url = line["serving on ".Length..].Split(' ')[0].TrimEnd('/');
        var client = new HttpClient { BaseAddress = new Uri(url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        var node = new Node(name, url, process, client);
        _nodes.Add(node);
        return node;
    }

    private static async Task<JsonArray> WaitForNodesAsync(Node node, int count)
    {
        JsonArray nodes = [];
        await node.Process.WaitUntilAsync(() =>
        {
            nodes = JsonNode.Parse(node.Client.GetStringAsync("/api/system").GetAwaiter().GetResult())!["nodes"]!.AsArray();
            return nodes.Count == count;
        }, $"{count} nodes in the cluster");
        return nodes;
    }

    private static async Task<(string Id, string Node)> SubmitAsync(Node node, string script, JsonObject input)
    {
        using var response = await node.Client.PostAsJsonAsync("/api/runs", new JsonObject { ["script"] = script, ["input"] = input });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        response.IsSuccessStatusCode.Should().BeTrue(body.ToJsonString());
        return (body["id"]!.GetValue<string>(), body["node"]!.GetValue<string>());
    }

    private static async Task WaitForEndAsync(Node node, string id)
    {
        JsonNode? run = null;
        await node.Process.WaitUntilAsync(() =>
        {
            run = JsonNode.Parse(node.Client.GetStringAsync($"/api/runs/{id}").GetAwaiter().GetResult())!;
            return run["status"]!.GetValue<string>() is not "running";
        }, $"run {id} to end");
        run!["status"]!.GetValue<string>().Should().Be("succeeded", run.ToJsonString());
    }

    [GeneratedRegex("^1$")]
    private static partial Regex OneRegex();

    private sealed record Node(string Name, string Url, OrchestratorProcess Process, HttpClient Client);
}
