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

    /// <summary>Shell steps, the middle one held until the test creates the file named by the input's "flag".</summary>
    private const string HoldScript = """
        await agent("shell").run({ command: "echo", args: ["start"] }, "start");
        await agent("shell").run({ command: "sh", args: ["-c", 'while [ ! -e "$0" ]; do sleep 0.1; done', input.flag] }, "hold");
        return (await agent("shell").run({ command: "echo", args: ["done"] }, "finish")).stdout.trim();
        """;

    /// <summary>Uncaught script errors of this test's pages: any fails the test.</summary>
    private readonly List<string> _pageErrors = [];
    private readonly TempDirectory _dir = new();
    private readonly List<ClusterTestNode> _nodes = [];

    [Fact]
    public async Task The_nodes_card_shows_both_nodes_marks_this_one_and_follows_a_run_and_a_killed_node_live()
    {
        var store = database.NewStore();
        _dir.Write("scripts/hold.js", HoldScript);
        var first = await StartNodeAsync(store, "n1");
        var second = await StartNodeAsync(store, "n2");
        var listed = await first.WaitForNodesAsync(2);

        var page = await browser.NewPageAsync(_pageErrors);
        await page.GotoAsync($"{first.Url}/?token={ClusterTestNode.Token}#/system");
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
        await dark.GotoAsync($"{first.Url}/?token={ClusterTestNode.Token}#/system");
        await Expect(dark.Locator("html")).ToHaveAttributeAsync("data-theme", "dark");
        (await TagColoursAsync(dark)).Should().Be("rgb(122, 162, 255) on rgb(31, 43, 68)");
        await dark.Context.CloseAsync();

        // Reached with the keyboard, and kept focused while the card refreshes under it.
        await page.Locator("#nodes h2").ClickAsync();
        await page.Keyboard.PressAsync("Tab");
        await Expect(link).ToBeFocusedAsync();

        // A run in flight on the cluster: its owner's runs owned and one node's agent step in flight show up live.
        var flag = Path.Combine(_dir.Path, "release.flag");
        var (id, owner) = await second.SubmitAsync("hold.js", new JsonObject { ["flag"] = flag });
        var other = owner == "n1" ? "n2" : "n1";
        await Expect(Row(page, owner).Locator(".node-runs")).ToHaveTextAsync("1");
        await Expect(Row(page, other).Locator(".node-runs")).ToHaveTextAsync("0");
        await Expect(page.Locator("#nodes-table .node-steps", new() { HasTextRegex = OneRegex() })).ToHaveCountAsync(1);
        await Expect(link).ToBeFocusedAsync();
        await BrowserFixture.SaveScreenshotAsync(page, "system-nodes.png");

        File.WriteAllText(flag, "go");
        (await second.WaitForEndAsync(id))["status"]!.GetValue<string>().Should().Be("succeeded");
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

    private async Task<ClusterTestNode> StartNodeAsync(string store, string name)
    {
        var node = await ClusterTestNode.StartAsync(_dir.Path, store, name);
        _nodes.Add(node);
        return node;
    }




    [GeneratedRegex("^1$")]
    private static partial Regex OneRegex();
}
