using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Orchestrator.Cli.Host;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Runs;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Tests.Host;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.Waits;

/// <summary>Acceptance 2: in a host a waiting run is parked, holding nothing, and continues by itself on a decision, an event or its due time.</summary>
public sealed class HostWaitTests : IDisposable
{
    private const string Release = """
        var decision = await Approval("deploy", new { version = "3" });
        return await Step("deploy-step", () => new { by = decision!["by"]!.GetValue<string>() });
        """;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_parked_run_continues_on_a_decision_from_the_api()
    {
        await using var host = await HostHarness.StartAsync();
        host.WriteScript("release.csx", Release);
        var id = (await host.SubmitAsync("release.csx"))["id"]!.GetValue<string>();
        await StatusAsync(host, id, "waiting");
        for (var i = 0; i < 3000 && !host.Server.State.Runs.Parked.Contains(id); i++)
        {
            await Task.Delay(10);
        }

        host.Server.State.Runs.Parked.Contains(id).Should().BeTrue();
        host.Server.State.Runs.InFlight.Should().BeEmpty("a parked run holds nothing");

        using var decided = await host.Client.PostAsJsonAsync($"/api/runs/{id}/approve", new JsonObject { ["by"] = "erin", ["comment"] = "go" });

        var body = JsonNode.Parse(await decided.Content.ReadAsStringAsync())!;
        decided.IsSuccessStatusCode.Should().BeTrue(body.ToJsonString());
        body["resumed"]!.GetValue<bool>().Should().BeTrue();
        var run = await StatusAsync(host, id, "succeeded");
        run["result"]!["by"]!.GetValue<string>().Should().Be("erin");
    }

    [Fact]
    public async Task A_parked_run_continues_on_a_decision_from_the_cli_which_tells_the_host()
    {
        await using var host = await HostHarness.StartAsync();
        host.WriteScript("release.csx", Release);
        var id = (await host.SubmitAsync("release.csx"))["id"]!.GetValue<string>();
        await StatusAsync(host, id, "waiting");

        var approve = await CliRunner.RunAsync("approve", id, "--by", "frank", "--store", host.StoreDirectory);

        approve.ExitCode.Should().Be(0, approve.ToString());
        approve.Stdout.Should().Contain($"continues run {id}");
        (await StatusAsync(host, id, "succeeded"))["result"]!["by"]!.GetValue<string>().Should().Be("frank");
    }

    [Fact]
    public async Task A_parked_run_continues_on_a_decision_and_an_event_from_mcp_serve()
    {
        await using var host = await HostHarness.StartAsync();
        host.WriteScript("gated.csx", """
            await Approval("deploy");
            return await WaitForEvent("healthy");
            """);
        var id = (await host.SubmitAsync("gated.csx"))["id"]!.GetValue<string>();
        await StatusAsync(host, id, "waiting");
        await using var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "orchestrator",
            Command = "dotnet",
            Arguments = [OrchestratorProcess.DllPath, "mcp", "serve", "--store", host.StoreDirectory, "--scripts", host.ScriptsDirectory],
        }));

        var approved = JsonNode.Parse(Text(await client.CallToolAsync("approve_run", new Dictionary<string, object?> { ["id"] = id, ["by"] = "gina" })))!;

        approved["continuedByHost"]!.GetValue<bool>().Should().BeTrue(approved.ToJsonString());
        approved["decision"]!["by"]!.GetValue<string>().Should().Be("gina");
        await WaitForStepAsync(host, id, "healthy");
        var signalled = JsonNode.Parse(Text(await client.CallToolAsync("signal_run", new Dictionary<string, object?> { ["id"] = id, ["name"] = "healthy", ["data"] = """{"ok":true}""" })))!;
        signalled["continuedByHost"]!.GetValue<bool>().Should().BeTrue(signalled.ToJsonString());
        (await StatusAsync(host, id, "succeeded"))["result"]!["ok"]!.GetValue<bool>().Should().BeTrue();
        var late = await client.CallToolAsync("signal_run", new Dictionary<string, object?> { ["id"] = id, ["name"] = "healthy" });
        late.IsError.Should().BeTrue();
        Text(late).Should().Contain($"run {id} already succeeded");
    }

    [Fact]
    public async Task A_parked_run_continues_on_an_event_from_the_api_whose_body_is_the_steps_output()
    {
        await using var host = await HostHarness.StartAsync();
        host.WriteScript("pay.js", """
            const paid = await waitForEvent("payment");
            return { amount: paid.amount };
            """);
        var id = (await host.SubmitAsync("pay.js"))["id"]!.GetValue<string>();
        await StatusAsync(host, id, "waiting");

        using var sent = await host.Client.PostAsync($"/api/runs/{id}/signal/payment", new StringContent("""{"amount":99}""", Encoding.UTF8, "application/json"));

        sent.IsSuccessStatusCode.Should().BeTrue(await sent.Content.ReadAsStringAsync());
        (await StatusAsync(host, id, "succeeded"))["result"]!["amount"]!.GetValue<int>().Should().Be(99);
        using var late = await host.Client.PostAsync($"/api/runs/{id}/signal/payment", null);
        ((int)late.StatusCode).Should().Be(409);
        (await late.Content.ReadAsStringAsync()).Should().Contain("already succeeded");
    }

    [Fact]
    public async Task A_parked_sleep_is_woken_by_the_hosts_timer_on_its_due_time()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero));
        var harness = new EngineHarness(time, null, [new EchoAgent()], []);
        var script = _dir.Write("nap.csx", "await Sleep(TimeSpan.FromHours(2));\nreturn \"awake\";\n");
        await using var manager = new RunManager(harness.Engine, harness.Journal, new Programs(), Logger.None, time);
        var run = await manager.StartAsync(script, null, CancellationToken.None);
        (await run.Completion).Run.Status.Should().Be(RunStatus.Waiting);
        manager.Parked.Contains(run.Id).Should().BeTrue();
        manager.InFlight.Should().BeEmpty("a parked run holds nothing");

        time.Advance(TimeSpan.FromMinutes(119));
        manager.Parked.Contains(run.Id).Should().BeTrue("a minute is left");
        time.Advance(TimeSpan.FromMinutes(1));

        for (var i = 0; i < 3000 && (await harness.Journal.GetRunAsync(run.Id, default))!.Status != RunStatus.Succeeded; i++)
        {
            await Task.Delay(10);
        }

        (await harness.Journal.GetRunAsync(run.Id, default))!.Result!.GetValue<string>().Should().Be("awake");
    }

    [Fact]
    public async Task Two_hundred_parked_runs_do_not_grow_the_hosts_thread_count()
    {
        var store = Path.Combine(_dir.Path, "store");
        _dir.Write("release.csx", Release);
        using var serve = OrchestratorProcess.Start(_dir.Path, "serve", "--store", store, "--urls", "http://127.0.0.1:0");
        await serve.WaitUntilAsync(() => HostFile.Read(store) is not null && serve.Stdout.Contains("serving on", StringComparison.Ordinal), "the host to serve");
        var file = HostFile.Read(store)!;
        using var client = new HttpClient { BaseAddress = new Uri(file.Url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", file.Token);

        await ParkAsync(client, 20);
        var afterTwenty = Threads(serve.Id);
        await ParkAsync(client, 180);
        var afterTwoHundred = Threads(serve.Id);

        var waiting = JsonNode.Parse(await client.GetStringAsync("/api/runs?status=waiting&limit=1000"))!.AsArray();
        waiting.Should().HaveCount(200);
        JsonNode.Parse(await client.GetStringAsync("/api/system"))!["runsInFlight"]!.AsArray().Should().BeEmpty();
        afterTwoHundred.Should().BeLessThanOrEqualTo(afterTwenty + 10, $"parked runs hold no thread ({afterTwenty} threads with 20 parked)");

        serve.Terminate();
        (await serve.WaitForExitAsync()).ExitCode.Should().Be(0);
    }

    /// <summary>Submits runs one at a time, each until it has parked, so that no burst of work grows the thread pool.</summary>
    private static async Task ParkAsync(HttpClient client, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var submitted = await client.PostAsJsonAsync("/api/runs", new JsonObject { ["script"] = "release.csx" });
            var id = JsonNode.Parse(await submitted.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
            for (var poll = 0; JsonNode.Parse(await client.GetStringAsync($"/api/runs/{id}"))!["status"]!.GetValue<string>() != "waiting"; poll++)
            {
                poll.Should().BeLessThan(6000, $"run {id} should park");
                await Task.Delay(10);
            }
        }
    }

    private static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(b => b.Text));

    /// <summary>Until the run has parked again, on the wait <paramref name="stepId"/>.</summary>
    private static async Task WaitForStepAsync(HostHarness host, string id, string stepId)
    {
        for (var polls = 0; ; polls++)
        {
            var run = await host.GetJsonAsync($"/api/runs/{id}");
            if (run["status"]!.GetValue<string>() == "waiting" && run["steps"]!.AsArray().Any(s => s!["id"]!.GetValue<string>() == stepId)
                && host.Server.State.Runs.Parked.Contains(id))
            {
                return;
            }

            polls.Should().BeLessThan(6000, $"run {id} should wait at {stepId}");
            await Task.Delay(10);
        }
    }

    private static int Threads(int pid) =>
        int.Parse(File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("Threads:", StringComparison.Ordinal))["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);

    private static async Task<JsonNode> StatusAsync(HostHarness host, string id, string status)
    {
        JsonNode run;
        var polls = 0;
        while ((run = await host.GetJsonAsync($"/api/runs/{id}"))["status"]!.GetValue<string>() != status)
        {
            (++polls).Should().BeLessThan(6000, $"run {id} should become {status}; it is {run.ToJsonString()}");
            await Task.Delay(10);
        }

        return run;
    }

    private sealed class Programs : IProgramSource
    {
        public IWorkflowProgram Get(string scriptPath, CancellationToken cancellationToken) => CSharpWorkflow.Compile(scriptPath, Logger.None, cancellationToken);
    }
}
