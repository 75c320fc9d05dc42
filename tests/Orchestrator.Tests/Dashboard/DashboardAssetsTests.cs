using System.Net;
using System.Net.Http.Headers;
using Orchestrator.Cli.Host.Dashboard;
using Orchestrator.Tests.Host;

namespace Orchestrator.Tests.Dashboard;

/// <summary>How the host serves the dashboard's files and a run's report, over plain HTTP.</summary>
public sealed class DashboardAssetsTests
{
    [Fact]
    public async Task The_dashboard_files_load_without_the_token_while_the_api_and_anything_else_still_need_it()
    {
        await using var host = await HostHarness.StartAsync(token: "a-token-of-sixteen-or-more");
        using var anonymous = new HttpClient { BaseAddress = host.Client.BaseAddress };

        using (var page = await anonymous.GetAsync("/"))
        {
            page.StatusCode.Should().Be(HttpStatusCode.OK);
            page.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
            (await page.Content.ReadAsStringAsync()).Should().Contain("<script type=\"module\" src=\"/ui/app.js\">").And.Contain("This host needs its token");
            var policy = page.Headers.GetValues("Content-Security-Policy").Single();
            policy.Should().Contain("script-src 'self'").And.Contain("frame-ancestors 'none'").And.Contain("connect-src 'self'");
            page.Headers.GetValues("X-Frame-Options").Should().Equal("DENY");
            page.Headers.GetValues("Referrer-Policy").Should().Equal("no-referrer");
        }

        foreach (var file in new[] { "app.js", "api.js", "dom.js", "runs.js", "run.js", "reviews.js", "system.js", "stats.js" })
        {
            using var script = await anonymous.GetAsync($"/ui/{file}");
            script.StatusCode.Should().Be(HttpStatusCode.OK, file);
            script.Content.Headers.ContentType!.MediaType.Should().Be("text/javascript", file);
        }

        using (var css = await anonymous.GetAsync("/ui/app.css"))
        {
            css.Content.Headers.ContentType!.MediaType.Should().Be("text/css");
        }

        foreach (var path in new[] { "/api/runs", "/api/system", "/ui/missing.js", "/index.html", "/favicon.ico" })
        {
            using var response = await anonymous.GetAsync(path);
            response.StatusCode.Should().Be(HttpStatusCode.Unauthorized, path);
        }

        using var post = await anonymous.PostAsync("/", new StringContent(""));
        post.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "only GET and HEAD reach the dashboard's files");
    }

    [Fact]
    public async Task A_dashboard_file_is_served_from_memory_and_revalidated_by_its_etag()
    {
        await using var host = await HostHarness.StartAsync();
        using var first = await host.Client.GetAsync("/ui/app.css");
        var etag = first.Headers.ETag!;

        using var again = new HttpRequestMessage(HttpMethod.Get, "/ui/app.css");
        again.Headers.IfNoneMatch.Add(new EntityTagHeaderValue(etag.Tag));
        using var revalidated = await host.Client.SendAsync(again);
        revalidated.StatusCode.Should().Be(HttpStatusCode.NotModified);

        DashboardAssets.Load().Paths.Should().Contain(["/", "/ui/app.js", "/ui/app.css", "/ui/icon.svg"]);
    }

    [Fact]
    public async Task The_dashboard_never_builds_markup_from_strings()
    {
        await using var host = await HostHarness.StartAsync();
        foreach (var path in DashboardAssets.Load().Paths.Where(p => p.EndsWith(".js", StringComparison.Ordinal)))
        {
            var text = await host.Client.GetStringAsync(path);
            text.Should().NotContainAny(["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("], $"{path} inserts values as text only");
        }
    }

    [Fact]
    public async Task A_run_report_is_served_as_sandboxed_html_once_the_run_has_ended()
    {
        await using var host = await HostHarness.StartAsync();
        host.WriteScript("one.csx", """return await Step("one", () => 1);""");
        var id = (await host.SubmitAsync("one.csx"))["id"]!.GetValue<string>();
        await host.EventsAsync(id);

        using (var report = await host.Client.GetAsync($"/api/runs/{id}/report"))
        {
            report.StatusCode.Should().Be(HttpStatusCode.OK);
            report.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
            report.Headers.GetValues("Content-Security-Policy").Single().Should().StartWith("sandbox;");
            (await report.Content.ReadAsStringAsync()).Should().Contain(id).And.Contain("<html");
        }

        using var missing = await host.Client.GetAsync("/api/runs/nope/report");
        missing.StatusCode.Should().Be(HttpStatusCode.NotFound);
        var openApi = await host.GetJsonAsync("/openapi/v1.json");
        openApi["paths"]!.AsObject().Select(p => p.Key).Should().Contain("/api/runs/{id}/report").And.NotContain("/");
    }
}
