using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Learning;
using Orchestrator.Tests.Host;
using Orchestrator.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace Orchestrator.Tests.Dashboard;

/// <summary>The web dashboard in a real Chromium against a real host on a free loopback port.</summary>
public sealed class DashboardTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    /// <summary>Uncaught script errors of this test's pages: any fails the test.</summary>
    private readonly List<string> _pageErrors = [];

    /// <summary>Two branches whose steps wait, side by side, until the test creates the file named by the input's "flag".</summary>
    private const string FanOutScript = """
        var flag = Input!["flag"]!.GetValue<string>();
        async Task<JsonNode?> WaitForFlag(string name) =>
            await Step(name, async () => { while (!File.Exists(flag)) await Task.Delay(20, CancellationToken); return name; });
        await Step("prepare", () => 1);
        await Parallel("fan", Merge.AllMustSucceed,
            Branch("left", () => WaitForFlag("wait-left")),
            Branch("right", () => WaitForFlag("wait-right")));
        return await Step("finish", () => 2);
        """;

    /// <summary>Fails in step "explode" with an error that would run script if the page inserted it as HTML.</summary>
    private const string FailingScript = """
        await Step("load", () => new { rows = 3 });
        static int Explode() => throw new InvalidOperationException("disk full on /dev/sdz <img src=x onerror=\"window.injected=1\">");
        await Step("explode", () => Explode());
        """;

    [Fact]
    public async Task The_run_page_shows_the_step_tree_going_live_and_the_parallel_branches_overlapping_on_the_timeline()
    {
        await using var host = await HostHarness.StartAsync();
        var (page, flag) = await OpenWaitingFanOutAsync(host);

        var left = page.Locator(".step-row[data-step='fan/left/wait-left']");
        var right = page.Locator(".step-row[data-step='fan/right/wait-right']");
        await Expect(left).ToHaveAttributeAsync("data-status", "running");
        await Expect(right).ToHaveAttributeAsync("data-status", "running");
        await Expect(left.Locator(".step-status")).ToHaveTextAsync("running");
        await Expect(page.Locator(".step-row[data-step='prepare']")).ToHaveAttributeAsync("data-status", "succeeded");
        await Expect(page.Locator(".run-head .badge")).ToHaveTextAsync("running");
        await Expect(page.Locator("[data-lane='fan/left'] .bar[data-step='fan/left/wait-left']")).ToHaveAttributeAsync("data-status", "running");
        await Expect(page.Locator("[data-lane='fan/right'] .bar[data-step='fan/right/wait-right']")).ToHaveAttributeAsync("data-status", "running");

        File.WriteAllText(flag, "go");
        await Expect(left).ToHaveAttributeAsync("data-status", "succeeded");
        await Expect(right).ToHaveAttributeAsync("data-status", "succeeded");
        await Expect(page.Locator(".step-row[data-step='finish']")).ToHaveAttributeAsync("data-status", "succeeded");
        await Expect(page.Locator(".run-head .badge")).ToHaveTextAsync("succeeded");

        // Each branch has a lane of its own, and their bars overlap in time.
        await Expect(page.Locator("[data-lane='fan/left'] .bar[data-step='fan/left/wait-left']")).ToHaveAttributeAsync("data-status", "succeeded");
        await Expect(page.Locator("[data-lane='fan/right'] .bar[data-step='fan/right/wait-right']")).ToHaveAttributeAsync("data-status", "succeeded");
        // Both bars measured in one go: the timeline may redraw between two calls.
        var boxes = await page.EvaluateAsync<double[][]>("""
            () => ['fan/left/wait-left', 'fan/right/wait-right'].map(id => {
                const r = document.querySelector(`.bar[data-step='${id}']`).getBoundingClientRect();
                return [r.left, r.right, r.top, r.bottom];
            })
            """);
        var (a, b) = (boxes[0], boxes[1]);
        (a[0] < b[1] && b[0] < a[1]).Should().BeTrue($"the branches ran at the same time: left {a[0]}..{a[1]}, right {b[0]}..{b[1]}");
        (a[3] <= b[2] || b[3] <= a[2]).Should().BeTrue("each branch is drawn in its own lane");
        await Expect(page.Locator(".lane[data-lane='main'] .bar")).ToHaveCountAsync(2);

        // A step's detail: its output, from the row chosen with the keyboard.
        await left.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#step-detail")).ToContainTextAsync("fan/left/wait-left");
        await Expect(page.Locator("#step-detail pre.json").Last).ToHaveTextAsync("wait-left");

        await BrowserFixture.SaveScreenshotAsync(page, "run-page.png");
    }

    [Fact]
    public async Task A_failed_step_shows_its_error_on_the_run_page_with_the_run_report()
    {
        await using var host = await HostHarness.StartAsync();
        host.WriteScript("failing.csx", FailingScript);
        var id = (await host.SubmitAsync("failing.csx"))["id"]!.GetValue<string>();
        await host.EventsAsync(id);
        var page = await OpenAsync(host, $"#/runs/{id}");

        var failed = page.Locator(".step-row[data-step='explode']");
        await Expect(failed).ToHaveAttributeAsync("data-status", "failed");
        await Expect(page.Locator(".run-head .badge")).ToHaveTextAsync("failed");
        await Expect(page.Locator(".run-error")).ToContainTextAsync("disk full on /dev/sdz");

        await failed.ClickAsync();
        await Expect(page.Locator("#step-detail .step-error")).ToContainTextAsync("disk full on /dev/sdz");
        await Expect(page.Locator("#step-detail")).ToContainTextAsync("Attempts and recovery");

        await page.Locator("#show-report").ClickAsync();
        await Expect(page.FrameLocator(".report-frame").Locator("body")).ToContainTextAsync(id);

        // The error went in as text: shown as written, and nothing in it ran.
        await Expect(page.Locator("#step-detail .step-error pre")).ToContainTextAsync("<img src=x onerror=");
        (await page.EvaluateAsync<bool>("() => window.injected === undefined && document.querySelectorAll('main img').length === 0")).Should().BeTrue();
    }

    [Fact]
    public async Task A_run_is_cancelled_and_resumed_from_its_page_which_follows_the_new_attempt_live()
    {
        await using var host = await HostHarness.StartAsync();
        var (page, flag) = await OpenWaitingFanOutAsync(host);
        var left = page.Locator(".step-row[data-step='fan/left/wait-left']");
        await Expect(left).ToHaveAttributeAsync("data-status", "running");

        await page.Locator("#cancel-run").ClickAsync();
        await Expect(page.Locator(".run-head .badge")).ToHaveTextAsync("cancelled");
        await Expect(left).Not.ToHaveAttributeAsync("data-status", "running");

        File.WriteAllText(flag, "go");
        await page.Locator("#resume-run").ClickAsync();
        await Expect(page.Locator(".run-head .badge")).ToHaveTextAsync("succeeded");
        await Expect(left).ToHaveAttributeAsync("data-status", "succeeded");
        await Expect(left.Locator(".step-attempts")).ToHaveTextAsync("×2");
        await Expect(page.Locator(".step-row[data-step='prepare'] .step-attempts")).ToBeHiddenAsync();
        await Expect(page.Locator(".step-row[data-step='finish']")).ToHaveAttributeAsync("data-status", "succeeded");
    }

    [Fact]
    public async Task A_review_item_is_approved_from_the_review_queue()
    {
        await using var host = await HostHarness.StartAsync();
        await PendingReview.AddAsync(host.StoreDirectory);
        var page = await OpenAsync(host, "#/reviews");

        var row = page.Locator("#reviews-table tr[data-review='1']");
        await Expect(row).ToContainTextAsync(PendingReview.Summary);
        await Expect(page.Locator("#review-count")).ToHaveTextAsync("1");
        await row.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();

        await Expect(page.Locator("#reviews-table")).ToContainTextAsync("Nothing waits for review.");
        await Expect(page.Locator("#review-count")).ToBeHiddenAsync();
        var all = (await host.GetJsonAsync("/api/reviews?all=true")).AsArray();
        all.Should().ContainSingle().Which!["status"]!.GetValue<string>().Should().Be("approved");
    }

    [Fact]
    public async Task A_waiting_runs_approval_is_decided_from_the_reviews_page_and_the_run_continues_on_the_host()
    {
        await using var host = await HostHarness.StartAsync();
        host.WriteScript("deploy.csx", """
            var decision = await Approval("deploy", new { version = "1.2.3" });
            return decision!["by"];
            """);
        var id = (await host.SubmitAsync("deploy.csx"))["id"]!.GetValue<string>();
        var page = await OpenAsync(host, $"#/runs/{id}");
        await Expect(page.Locator(".run-head .badge")).ToHaveTextAsync("waiting");

        await page.GotoAsync($"{host.Server.Url}/#/reviews");
        var row = page.Locator($"#approvals-table tr[data-approval='{id}/deploy']");
        await Expect(row).ToContainTextAsync("1.2.3");
        await Expect(page.Locator("#review-count")).ToHaveTextAsync("1");
        await row.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        await Expect(page.Locator("#approvals-table")).ToContainTextAsync("No run waits for an approval.");

        await page.GotoAsync($"{host.Server.Url}/#/runs/{id}");
        await Expect(page.Locator(".run-head .badge")).ToHaveTextAsync("succeeded");
        (await host.GetJsonAsync($"/api/runs/{id}"))["result"]!.GetValue<string>().Should().Be("dashboard", "the decision records who made it");
    }

    [Fact]
    public async Task The_system_page_lists_the_agents_with_their_circuits_and_steps_in_flight_and_no_nodes_on_a_host_on_its_own()
    {
        await using var host = await HostHarness.StartAsync();
        var page = await OpenAsync(host, "#/system");

        var shell = page.Locator("#agents-table tr[data-agent='shell']");
        await Expect(shell).ToContainTextAsync("healthy");
        await Expect(shell.Locator("td").Nth(2)).ToHaveTextAsync("0");
        var listed = (await host.GetJsonAsync("/api/system"))["agents"]!.AsArray().Select(a => a!["kind"]!.GetValue<string>()).ToList();
        await Expect(page.Locator("#agents-table tbody tr")).ToHaveCountAsync(listed.Count);

        // A host on its own is no cluster: no Nodes card, and the agents and runs are simply the host's.
        await Expect(page.Locator("#nodes")).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Runs in flight", Exact = true })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task The_statistics_page_shows_the_learned_outcomes_and_the_monitor_baselines()
    {
        await using var host = await HostHarness.StartAsync();
        await using (var journal = SqliteJournal.Open(host.StoreDirectory))
        {
            var at = DateTimeOffset.UnixEpoch;
            await journal.Learning.RecordOutcomeAsync(new PhaseOutcome("summarize", "main", "solid", true, 4, 0, 400, at), CancellationToken.None);
            await journal.Learning.RecordOutcomeAsync(new PhaseOutcome("summarize", "main", "solid", false, 4, 2, 400, at), CancellationToken.None);
            await journal.Learning.SaveBaselinesAsync(new Dictionary<string, Baseline> { ["summarize.duration_ms"] = new(12, 250, 100) }, at, CancellationToken.None);
        }

        var page = await OpenAsync(host, "#/stats");
        var outcome = page.Locator("#outcomes-table tbody tr");
        await Expect(outcome).ToHaveCountAsync(1);
        await Expect(outcome).ToContainTextAsync("summarize");
        await Expect(outcome.Locator(".meter")).ToContainTextAsync("50%");
        await Expect(outcome.Locator("td").Nth(7)).ToHaveTextAsync("100 ms");
        await Expect(page.Locator("#baselines-table tbody tr")).ToContainTextAsync("summarize.duration_ms");
        await Expect(page.Locator("#baselines-table tbody tr td").Nth(2)).ToHaveTextAsync("10.00");
    }

    [Fact]
    public async Task The_runs_list_shows_every_run_and_filters_by_status_and_script()
    {
        await using var host = await HostHarness.StartAsync();
        host.WriteScript("failing.csx", FailingScript);
        host.WriteScript("fan-out.csx", FanOutScript);
        host.WriteScript("hello.csx", """return await Step("greet", () => "hello");""");
        var released = host.WriteScript("release.flag", "go");
        string[] ended =
        [
            (await host.SubmitAsync("hello.csx"))["id"]!.GetValue<string>(),
            (await host.SubmitAsync("fan-out.csx", new JsonObject { ["flag"] = released }))["id"]!.GetValue<string>(),
            (await host.SubmitAsync("failing.csx"))["id"]!.GetValue<string>(),
        ];
        foreach (var id in ended)
        {
            await host.EventsAsync(id);
        }

        // Still waiting when the page opens; the host cancels it when the test ends.
        var running = (await host.SubmitAsync("fan-out.csx", new JsonObject { ["flag"] = Path.Combine(host.ScriptsDirectory, "never.flag") }))["id"]!.GetValue<string>();
        await host.EventsUntilAsync(running, "fan/left/wait-left");

        var page = await OpenAsync(host, "#/runs");
        var rows = page.Locator("#runs-table tbody tr[data-run]");
        await Expect(rows).ToHaveCountAsync(4);
        await Expect(rows.First).ToHaveAttributeAsync("data-run", running);
        await Expect(rows.First.Locator(".badge")).ToHaveTextAsync("running");
        await Expect(rows.Nth(1)).ToContainTextAsync("failing.csx");
        await BrowserFixture.SaveScreenshotAsync(page, "runs-list.png");

        await page.Locator("#runs-status").SelectOptionAsync("failed");
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows.First).ToHaveAttributeAsync("data-run", ended[2]);
        await Expect(rows.First).ToContainTextAsync("disk full on /dev/sdz");

        await page.Locator("#runs-status").SelectOptionAsync("");
        await page.Locator("#runs-search").FillAsync("fan-");
        await Expect(rows).ToHaveCountAsync(2);
        await page.Locator("#runs-status").SelectOptionAsync("succeeded");
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows.First).ToHaveAttributeAsync("data-run", ended[1]);

        // A run's link opens its page.
        await rows.First.Locator("a").ClickAsync();
        await Expect(page.Locator(".run-head h1")).ToContainTextAsync("fan-out.csx");
    }

    [Fact]
    public async Task Without_the_token_the_page_asks_for_it_and_a_token_in_the_address_is_kept_for_the_tab_and_removed_from_the_address()
    {
        await using var host = await HostHarness.StartAsync(token: "a-token-of-sixteen-or-more");
        var page = await browser.NewPageAsync(_pageErrors);
        await page.GotoAsync(host.Server.Url + "/#/runs");

        await Expect(page.Locator("#token-prompt")).ToBeVisibleAsync();
        await Expect(page.Locator("#runs-table")).ToHaveCountAsync(0);
        await page.Locator("#token-input").FillAsync("not-the-token-at-all");
        await page.Locator("#token-form button[type=submit]").ClickAsync();
        await Expect(page.Locator("#token-title")).ToHaveTextAsync("The host refused this token");

        await page.Locator("#token-input").FillAsync("a-token-of-sixteen-or-more");
        await page.Locator("#token-form button[type=submit]").ClickAsync();
        await Expect(page.Locator("#runs-table")).ToBeVisibleAsync();
        await Expect(page.Locator("#token-prompt")).ToBeHiddenAsync();

        var fresh = await browser.NewPageAsync(_pageErrors);
        await fresh.GotoAsync(host.Server.Url + "/?token=a-token-of-sixteen-or-more#/system");
        await Expect(fresh.Locator("#agents-table")).ToBeVisibleAsync();
        fresh.Url.Should().NotContain("token").And.EndWith("/#/system");
        (await fresh.EvaluateAsync<string>("() => sessionStorage.getItem('orchestrator.token')")).Should().Be("a-token-of-sixteen-or-more");
    }

    [Fact]
    public async Task The_theme_follows_the_system_until_toggled_and_the_choice_is_kept()
    {
        await using var host = await HostHarness.StartAsync();
        var page = await browser.NewPageAsync(_pageErrors, ColorScheme.Dark);
        await page.GotoAsync($"{host.Server.Url}/?token={host.Server.Token}#/runs");
        var html = page.Locator("html");
        await Expect(html).ToHaveAttributeAsync("data-theme", "dark");

        await page.Locator("#theme").ClickAsync();
        await Expect(html).ToHaveAttributeAsync("data-theme", "light");
        await page.ReloadAsync();
        await Expect(html).ToHaveAttributeAsync("data-theme", "light");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Closes this test's pages (they would go on polling a host that has stopped), then checks their errors.</summary>
    public async Task DisposeAsync()
    {
        foreach (var context in browser.Browser.Contexts)
        {
            await context.CloseAsync();
        }

        _pageErrors.Should().BeEmpty("the dashboard's scripts ran without an uncaught error");
    }

    /// <summary>Submits the fan-out script, whose branches wait until the returned flag file exists, and opens its run page.</summary>
    private async Task<(IPage Page, string Flag)> OpenWaitingFanOutAsync(HostHarness host)
    {
        host.WriteScript("fan-out.csx", FanOutScript);
        var flag = Path.Combine(host.ScriptsDirectory, "release.flag");
        var id = (await host.SubmitAsync("fan-out.csx", new JsonObject { ["flag"] = flag }))["id"]!.GetValue<string>();
        return (await OpenAsync(host, $"#/runs/{id}"), flag);
    }

    private async Task<IPage> OpenAsync(HostHarness host, string route)
    {
        var page = await browser.NewPageAsync(_pageErrors);
        await page.GotoAsync($"{host.Server.Url}/?token={host.Server.Token}{route}");
        return page;
    }
}
