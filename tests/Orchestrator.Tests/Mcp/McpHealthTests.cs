using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Mcp;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.Mcp;

/// <summary>Health checks on the engine's clock: a dead server leaves the rotation, is restarted by the next check, and comes back.</summary>
public sealed class McpHealthTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_killed_stdio_server_is_taken_out_of_rotation_restarted_at_the_next_health_check_and_put_back()
    {
        await McpServers.EnsureInstalledAsync();
        var pid = Path.Combine(_dir.Path, "a.pid");
        var time = new FakeTimeProvider();
        var config = McpConfiguration.Parse(McpServers.Config(("a", McpServers.KillableEverything(pid))), Path.Combine(_dir.Path, "mcp.json")) with { HealthCheckInterval = TimeSpan.FromSeconds(10) };
        await using var mcp = new McpCoordinator(config, time, Logger.None);
        await mcp.StartAsync(CancellationToken.None);
        var server = mcp.Servers[0];
        server.Health.Should().Be(McpServerHealth.Healthy);
        var firstPid = File.ReadAllText(pid).Trim();

        var down = HealthSignal(server, McpServerHealth.Unhealthy);
        McpServers.Kill(pid);
        await down.WaitAsync(Patience);
        var refused = () => mcp.CallAsync(null, "echo", new JsonObject { ["message"] = "x" }, (_, call, ct) => call(ct), CancellationToken.None);
        (await refused.Should().ThrowAsync<McpServerUnavailableException>()).Which.Message.Should().Contain("no healthy MCP server offers tool 'echo'").And.Contain("a: unhealthy: the session ended");

        var up = HealthSignal(server, McpServerHealth.Healthy);
        time.Advance(TimeSpan.FromSeconds(10));
        await up.WaitAsync(Patience);

        server.Starts.Should().Be(2);
        File.ReadAllText(pid).Trim().Should().NotBe(firstPid, "a restart starts a new process");
        var echo = await mcp.CallAsync(null, "echo", new JsonObject { ["message"] = "back" }, (_, call, ct) => call(ct), CancellationToken.None);
        echo["text"]!.GetValue<string>().Should().Be("Echo: back");
    }

    [Fact]
    public async Task A_call_in_flight_on_a_server_that_dies_fails_over_to_another_that_offers_the_tool()
    {
        await McpServers.EnsureInstalledAsync();
        var pidA = Path.Combine(_dir.Path, "a.pid");
        var config = McpConfiguration.Parse(
            McpServers.Config(("a", McpServers.KillableEverything(pidA)), ("b", McpServers.KillableEverything(Path.Combine(_dir.Path, "b.pid")))),
            Path.Combine(_dir.Path, "mcp.json"));
        await using var mcp = new McpCoordinator(config, TimeProvider.System, Logger.None);
        await mcp.StartAsync(CancellationToken.None);
        var attempts = new List<string>();
        var onA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var call = mcp.CallAsync(null, "trigger-long-running-operation", new JsonObject { ["duration"] = 1, ["steps"] = 1 }, (server, run, ct) =>
        {
            attempts.Add(server.Name);
            var running = run(ct);
            if (server.Name == "a")
            {
                onA.TrySetResult();
            }

            return running;
        }, CancellationToken.None);
        await onA.Task.WaitAsync(Patience);
        McpServers.Kill(pidA);
        var result = await call.WaitAsync(Patience);

        attempts.Should().Equal("a", "b");
        result["server"]!.GetValue<string>().Should().Be("b");
        result["failover"]!.AsArray().Single()!["server"]!.GetValue<string>().Should().Be("a");
        mcp.Servers[0].Health.Should().Be(McpServerHealth.Unhealthy);
    }

    [Fact]
    public async Task A_call_on_a_server_that_stops_answering_pings_fails_naming_the_server_and_the_ping()
    {
        await McpServers.EnsureInstalledAsync();
        var pid = Path.Combine(_dir.Path, "a.pid");
        var time = new FakeTimeProvider();
        var config = McpConfiguration.Parse(McpServers.Config(("a", McpServers.KillableEverything(pid))), Path.Combine(_dir.Path, "mcp.json"))
            with { HealthCheckInterval = TimeSpan.FromSeconds(10), PingTimeout = TimeSpan.FromSeconds(2) };
        await using var mcp = new McpCoordinator(config, time, Logger.None);
        await mcp.StartAsync(CancellationToken.None);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var call = mcp.CallAsync(null, "trigger-long-running-operation", new JsonObject { ["duration"] = 600, ["steps"] = 1 }, (_, run, ct) =>
        {
            var running = run(ct);
            started.TrySetResult();
            return running;
        }, CancellationToken.None);
        await started.Task.WaitAsync(Patience);

        // Frozen, not dead: the session stays open, only the pings go unanswered.
        using (var freeze = System.Diagnostics.Process.Start("kill", ["-STOP", File.ReadAllText(pid).Trim()]))
        {
            await freeze.WaitForExitAsync();
        }

        try
        {
            // The engine's clock runs the health check and the ping's time limit; the test only moves it on.
            while (!call.IsCompleted)
            {
                time.Advance(TimeSpan.FromSeconds(1));
                await Task.WhenAny(call, Task.Delay(20));
            }

            var failed = () => call;
            (await failed.Should().ThrowAsync<McpServerUnavailableException>()).Which.Message
                .Should().Contain("MCP server 'a' failed during the call of 'trigger-long-running-operation'")
                .And.Contain("no answer to a ping within 2000 ms");
        }
        finally
        {
            using var thaw = System.Diagnostics.Process.Start("kill", ["-CONT", File.ReadAllText(pid).Trim()]);
            await thaw.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Round_robin_takes_the_servers_in_turn()
    {
        await McpServers.EnsureInstalledAsync();
        var config = McpConfiguration.Parse(McpServers.Config("roundRobin", ("a", McpServers.EverythingServer()), ("b", McpServers.EverythingServer())), Path.Combine(_dir.Path, "mcp.json"));
        await using var mcp = new McpCoordinator(config, TimeProvider.System, Logger.None);

        var served = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            served.Add((await mcp.CallAsync(null, "get-sum", new JsonObject { ["a"] = i, ["b"] = 1 }, (_, call, ct) => call(ct), CancellationToken.None))["server"]!.GetValue<string>());
        }

        config.Balancing.Should().Be(McpBalancing.RoundRobin);
        served.Should().Equal("a", "b", "a", "b");
    }

    private static Task HealthSignal(McpServerConnection server, McpServerHealth wanted)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.HealthChanged += s =>
        {
            if (s.Health == wanted)
            {
                signal.TrySetResult();
            }
        };
        if (server.Health == wanted)
        {
            signal.TrySetResult();
        }

        return signal.Task;
    }
}
