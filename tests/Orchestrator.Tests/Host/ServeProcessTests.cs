using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.Cli.Host;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Host;

/// <summary><c>orchestrator serve</c> and <c>run</c> as real processes.</summary>
public sealed class ServeProcessTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("SIGTERM")]
    [InlineData("SIGINT")]
    public async Task A_signal_stops_the_host_cancelling_its_runs_in_flight_and_leaving_them_resumable(string signal)
    {
        var store = Path.Combine(_dir.Path, "store");
        _dir.Write("waits.csx", """
            await Step("before", () => 1);
            return await Step("wait", async () => { await Task.Delay(Timeout.Infinite, CancellationToken); return 2; });
            """);
        using var serve = OrchestratorProcess.Start(_dir.Path, "serve", "--store", store, "--urls", "http://127.0.0.1:0");
        // The host writes its file, then says where it serves.
        await serve.WaitUntilAsync(() => HostFile.Read(store) is not null && serve.Stdout.Contains("serving on", StringComparison.Ordinal), "the host file and its address");
        var file = HostFile.Read(store)!;
        serve.Stdout.Should().Contain($"serving on {file.Url}");
        using var client = new HttpClient { BaseAddress = new Uri(file.Url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", file.Token);

        using var submitted = await client.PostAsJsonAsync("/api/runs", new JsonObject { ["script"] = "waits.csx" });
        var id = JsonNode.Parse(await submitted.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        var events = await SseEvent.ReadAllAsync(client, $"/api/runs/{id}/events", e =>
        {
            if (e.Event == "step" && e.Data["stepId"]!.GetValue<string>() == "wait")
            {
                if (signal == "SIGTERM")
                {
                    serve.Terminate();
                }
                else
                {
                    serve.Interrupt();
                }
            }

            return Task.CompletedTask;
        });

        events[^1].Data["status"]!.GetValue<string>().Should().Be("cancelled");
        var exited = await serve.WaitForExitAsync();
        exited.ExitCode.Should().Be(0, exited.ToString());
        exited.Stdout.Should().Contain("cancelling 1 run(s) in flight");
        exited.Stderr.Should().NotContain("Unhandled");
        File.Exists(HostFile.PathIn(store)).Should().BeFalse();
        await using var journal = SqliteJournal.Open(store);
        (await journal.GetRunAsync(id, CancellationToken.None))!.Status.Should().Be(RunStatus.Cancelled);
    }

    [Fact]
    public async Task The_run_command_loads_neither_aspnet_core_nor_the_opentelemetry_sdk_nor_orleans()
    {
        var script = _dir.Write("assemblies.csx", """
            return await Step("loaded", () => AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name).ToArray());
            """);
        using var run = OrchestratorProcess.Start(_dir.Path, "run", script, "--store", Path.Combine(_dir.Path, "store"), "--json");
        var result = await run.WaitForExitAsync();
        result.ExitCode.Should().Be(0, result.ToString());

        var loaded = JsonNode.Parse(result.LastLine)!["result"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        loaded.Should().Contain("Orchestrator.Core");
        loaded.Should().NotContain(name => name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || name.StartsWith("OpenTelemetry", StringComparison.Ordinal)
            || name.StartsWith("Orleans", StringComparison.Ordinal) || name == "Orchestrator.Cluster");
    }
}
