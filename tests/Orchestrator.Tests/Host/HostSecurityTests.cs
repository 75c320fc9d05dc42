using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.Cli.Host;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Host;

/// <summary>Who may use the host, and which scripts it runs.</summary>
public sealed class HostSecurityTests
{
    [Theory]
    [InlineData("http://0.0.0.0:0")]
    [InlineData("http://*:5999")]
    [InlineData("http://[::]:0")]
    [InlineData("http://192.168.1.1:80")]
    public async Task A_non_loopback_address_without_a_token_is_refused_at_start_in_one_line(string url)
    {
        using var dir = new TempDirectory();
        var result = await CliRunner.RunAsync("serve", "--urls", url, "--store", Path.Combine(dir.Path, "store"), "--scripts", dir.Path);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().Be($"orchestrator: --urls {url} is not a loopback address; serving beyond this machine needs --token");
        Directory.Exists(Path.Combine(dir.Path, "store")).Should().BeFalse("nothing is opened before the address is checked");
    }

    [Theory]
    [InlineData("http://127.0.0.1:5180", true)]
    [InlineData("http://localhost:5180", true)]
    [InlineData("http://[::1]:5180", true)]
    [InlineData("https://127.0.0.2", true)]
    [InlineData("http://0.0.0.0:5180", false)]
    [InlineData("http://example.com:5180", false)]
    public void Loopback_addresses_are_told_apart_from_others(string url, bool loopback) =>
        HostSettings.IsLoopback(url).Should().Be(loopback);

    [Fact]
    public async Task Every_api_call_and_the_event_stream_need_the_token()
    {
        await using var host = await HostHarness.StartAsync(token: "a-token-of-sixteen-or-more");
        host.WriteScript("one.csx", """return await Step("one", () => 1);""");
        var id = (await host.SubmitAsync("one.csx"))["id"]!.GetValue<string>();
        await host.EventsAsync(id);

        using var anonymous = new HttpClient { BaseAddress = host.Client.BaseAddress };
        foreach (var path in new[] { "/api/runs", $"/api/runs/{id}", $"/api/runs/{id}/events", "/api/system", "/api/stats", "/api/reviews", "/openapi/v1.json" })
        {
            using var response = await anonymous.GetAsync(path);
            response.StatusCode.Should().Be(HttpStatusCode.Unauthorized, path);
            response.Headers.WwwAuthenticate.ToString().Should().Be("Bearer");
        }

        using (var post = await anonymous.PostAsJsonAsync("/api/runs", new JsonObject { ["script"] = "one.csx" }))
        {
            post.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }

        using (var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/runs"))
        {
            wrong.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "a-token-of-sixteen-or-morX");
            (await anonymous.SendAsync(wrong)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }

        // EventSource cannot set headers: the token may come as a query parameter.
        var events = await SseEvent.ReadAllAsync(anonymous, $"/api/runs/{id}/events?access_token=a-token-of-sixteen-or-more");
        events[^1].Event.Should().Be("end");
        (await host.GetJsonAsync("/api/runs")).AsArray().Should().ContainSingle();
        (await anonymous.PostAsJsonAsync("/api/runs", new JsonObject { ["script"] = "one.csx" })).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await host.GetJsonAsync("/api/runs")).AsArray().Should().ContainSingle("a refused submission starts nothing");
    }

    [Fact]
    public async Task A_host_without_a_token_makes_one_and_writes_it_with_its_address_readable_only_by_its_owner()
    {
        await using var host = await HostHarness.StartAsync();
        var file = Path.Combine(host.StoreDirectory, HostFile.FileName);
        var written = HostFile.Read(host.StoreDirectory)!;

        written.Url.Should().Be(host.Server.Url);
        written.Token.Should().Be(host.Server.Token).And.HaveLength(48);
        written.Pid.Should().Be(Environment.ProcessId);
        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(file).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        using var anonymous = new HttpClient { BaseAddress = host.Client.BaseAddress };
        (await anonymous.GetAsync("/api/runs")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_script_outside_the_scripts_folder_is_forbidden_whether_submitted_or_resumed()
    {
        await using var host = await HostHarness.StartAsync();
        var outside = host.WriteOutside("evil.csx", """return await Step("evil", () => 1);""");

        foreach (var script in new[] { outside, "../outside/evil.csx", "/etc/passwd" })
        {
            using var response = await host.Client.PostAsJsonAsync("/api/runs", new JsonObject { ["script"] = script });
            response.StatusCode.Should().Be(HttpStatusCode.Forbidden, script);
            (await response.Content.ReadAsStringAsync()).Should().Contain("outside the scripts folder");
        }

        (await host.GetJsonAsync("/api/runs")).AsArray().Should().BeEmpty();

        // A run some other process started from outside the folder cannot be resumed through the host either.
        var store = host.StoreDirectory;
        await host.StopAsync();
        host.WriteOutside("fails.csx", """await Step("boom", () => int.Parse("no"));""");
        var run = await CliRunner.RunAsync("run", Path.Combine(Path.GetDirectoryName(outside)!, "fails.csx"), "--store", store, "--json");
        run.ExitCode.Should().Be(1, run.ToString());
        var runId = JsonNode.Parse(run.LastLine)!["runId"]!.GetValue<string>();

        await using var second = await HostHarnessOver(store, host.ScriptsDirectory);
        using var resume = await second.Client.PostAsJsonAsync($"/api/runs/{runId}/resume", new JsonObject());
        resume.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    private static async Task<SecondHost> HostHarnessOver(string store, string scripts)
    {
        var server = await HostServer.StartAsync(new HostSettings(store, ["http://127.0.0.1:0"], scripts, []), new Orchestrator.Cli.CliConsole(TextWriter.Null, TextWriter.Null), CancellationToken.None);
        return new SecondHost(server);
    }

    private sealed class SecondHost : IAsyncDisposable
    {
        private readonly HostServer _server;

        public SecondHost(HostServer server)
        {
            _server = server;
            Client = new HttpClient { BaseAddress = new Uri(server.Url) };
            Client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", server.Token);
        }

        public HttpClient Client { get; }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await _server.DisposeAsync();
        }
    }
}
