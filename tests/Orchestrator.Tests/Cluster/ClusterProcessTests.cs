using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;
using Orchestrator.Tests.Store;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Cluster;

/// <summary>Three real <c>serve --cluster</c> processes on loopback over the throwaway PostgreSQL server.</summary>
[Collection(nameof(ClusterProcessTests))]
public sealed class ClusterProcessTests(PostgresTestDatabase database) : IClassFixture<PostgresTestDatabase>, IDisposable
{
    // A 1,000-branch fan-out of the shell agent: each branch echoes its number, the run adds them up.
    private const string FanOut = """
        const n = input.n;
        const branches = {};
        for (let i = 0; i < n; i++) {
          branches["b" + i] = () => agent("shell").run({ command: "echo", args: [String(i)] }, "echo");
        }
        const merged = await parallel("fan", branches, { merge: "allMustSucceed" });
        let sum = 0;
        for (const key of Object.keys(merged)) sum += Number(merged[key].stdout.trim());
        return { n, sum, first: merged.b0.stdout.trim(), last: merged["b" + (n - 1)].stdout.trim() };
        """;

    private readonly TempDirectory _dir = new();
    private readonly List<ClusterTestNode> _nodes = [];

    public void Dispose()
    {
        foreach (var node in _nodes)
        {
            node.Process.Dispose();
        }

        _dir.Dispose();
    }

    [Fact]
    public async Task A_fan_out_spreads_over_three_nodes_and_a_run_whose_node_is_killed_finishes_on_another_with_each_step_completed_once()
    {
        var store = database.NewStore();
        _dir.Write("scripts/fan.js", FanOut);
        for (var i = 1; i <= 3; i++)
        {
            _nodes.Add(await ClusterTestNode.StartAsync(_dir.Path, store, $"n{i}"));
        }

        await _nodes[0].WaitForNodesAsync(3);
        var system = JsonNode.Parse(await _nodes[1].Client.GetStringAsync("/api/system"))!;
        system["node"]!.GetValue<string>().Should().Be("n2");
        system["nodes"]!.AsArray().Select(n => n!["name"]!.GetValue<string>()).Should().Equal("n1", "n2", "n3");
        system["nodes"]!.AsArray().Should().OnlyContain(n => n!["address"]!.GetValue<string>().StartsWith("127.0.0.1:", StringComparison.Ordinal)
            && n["upSince"] != null && n["runsOwned"]!.GetValue<int>() == 0 && n["agentStepsInFlight"]!.GetValue<int>() == 0);
        var status = JsonNode.Parse(await _nodes[2].Client.GetStringAsync("/api/status"))!;
        status["nodes"]!.AsArray().Select(n => n!["name"]!.GetValue<string>()).Should().Equal(["n1", "n2", "n3"], "orchestrator status shows the cluster's nodes");

        // Uninterrupted: every node runs at least 15 % of the agent steps.
        var baseline = await _nodes[0].SubmitAsync("fan.js", new JsonObject { ["n"] = 1000 });
        var uninterrupted = await _nodes[1].WaitForEndAsync(baseline.Id);
        uninterrupted["status"]!.GetValue<string>().Should().Be("succeeded", uninterrupted.ToJsonString());
        var shown = await ShowAsync(store, baseline.Id);
        var agentSteps = shown["steps"]!.AsArray().Where(s => (string?)s!["agent"] == "shell").ToList();
        agentSteps.Should().HaveCount(1000);
        var perNode = agentSteps.GroupBy(s => (string?)s!["node"]).ToDictionary(g => g.Key ?? "(none)", g => g.Count());
        perNode.Keys.Should().BeEquivalentTo(["n1", "n2", "n3"]);
        perNode.Values.Should().OnlyContain(count => count >= 150, $"each node runs at least 15 % of the steps: {string.Join(", ", perNode)}");
        var expected = shown["result"]!;

        // Kill -9 the node that owns a run while it runs, five times (a new node of the same name joins once the run has
        // ended, while the run is checked).
        Task restarted = Task.CompletedTask;
        for (var round = 0; round < 5; round++)
        {
            await restarted;
            var placed = await _nodes[round % 3].SubmitAsync("fan.js", new JsonObject { ["n"] = 1000 });
            var owner = _nodes.Single(n => n.Name == placed.Node);
            var survivor = _nodes.First(n => n != owner);
            var followed = FollowAsync(survivor, placed.Id);
            await WaitForCompletedStepsAsync(store, placed.Id, 100);
            var killed = owner.Process.Id;
            await owner.Process.KillAsync();

            var ended = await survivor.WaitForEndAsync(placed.Id);
            restarted = RestartAsync(store, owner);
            ended["status"]!.GetValue<string>().Should().Be("succeeded", $"round {round}: {ended.ToJsonString()}");
            var events = await followed;
            events[^1].Name.Should().Be("end", $"round {round}: another node's run is followed live to its end, across the takeover");
            events[^1].Data["status"]!.GetValue<string>().Should().Be("succeeded");
            events[^1].Data["result"]!.ToJsonString().Should().Be(expected.ToJsonString());
            events.SkipLast(1).Select(e => e.Data["seq"]!.GetValue<long>()).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
            events.Count(e => e.Name == "step" && (string?)e.Data["event"] == "succeeded" && (string?)e.Data["agent"] == "shell").Should().BeGreaterThanOrEqualTo(1000);
            var run = await ShowAsync(store, placed.Id);
            run["result"]!.ToJsonString().Should().Be(expected.ToJsonString(), $"round {round}: the result equals the uninterrupted run's");
            run["steps"]!.AsArray().Should().OnlyContain(s => s!["completions"]!.GetValue<int>() == 1, $"round {round}: every journaled step completed exactly once");
            (await DrivenByAsync(store, placed.Id)).Should().NotBe(killed, $"round {round}: another node finished the run");
        }

        await restarted;
    }

    [Fact]
    public async Task A_waiting_run_is_held_by_one_node_taken_over_when_it_dies_continued_by_a_decision_sent_to_any_node_and_woken_when_due()
    {
        var store = database.NewStore();
        _dir.Write("scripts/wait.js", """
            const before = await agent("shell").run({ command: "echo", args: ["before"] }, "before");
            const decision = await approval("go", { n: input.n });
            const late = await waitForEvent("late", { timeoutMs: input.timeoutMs, severity: "minor", fallback: { timedOut: true } });
            return { before: before.stdout.trim(), by: decision.by, approved: decision.approved, late };
            """);
        for (var i = 1; i <= 3; i++)
        {
            _nodes.Add(await ClusterTestNode.StartAsync(_dir.Path, store, $"n{i}"));
        }

        await _nodes[0].WaitForNodesAsync(3);
        using var response = await _nodes[0].Client.PostAsJsonAsync("/api/runs", new JsonObject { ["script"] = "wait.js", ["input"] = new JsonObject { ["n"] = 1, ["timeoutMs"] = 12_000 } });
        var id = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        var parked = await _nodes[1].WaitForRunAsync(id, r => (string?)r["status"] == "waiting", "parked at its approval");
        var owner = _nodes.Single(n => n.Name == (string?)parked["node"]);

        // Its node dies while it waits: another node holds it, still waiting.
        var killed = owner.Process.Id;
        await owner.Process.KillAsync();
        var survivor = _nodes.First(n => n != owner);
        var taken = await survivor.WaitForRunAsync(id, r => r["node"] is { } node && (string?)node != owner.Name, "taken over");
        taken["status"]!.GetValue<string>().Should().Be("waiting");
        var holder = _nodes.Single(n => n.Name == (string?)taken["node"]);
        await RestartAsync(store, owner);

        // The decision goes to a node that does not hold the run: the holder continues it, to its next wait.
        var other = _nodes.First(n => n.Name != holder.Name && n.Name != owner.Name);
        using (var approve = await other.Client.PostAsJsonAsync($"/api/runs/{id}/approve", new JsonObject { ["by"] = "alice" }))
        {
            var answer = JsonNode.Parse(await approve.Content.ReadAsStringAsync())!;
            approve.IsSuccessStatusCode.Should().BeTrue(answer.ToJsonString());
            answer["resumed"]!.GetValue<bool>().Should().BeTrue("the holder was told: " + answer.ToJsonString());
        }

        await other.WaitForRunAsync(id, r => (string?)r["status"] == "waiting" && r["steps"]!.AsArray().Any(s => (string?)s!["name"] == "late"), "parked at its event");

        // The holder dies too: the run's timeout comes on another node, which continues it then.
        var killedHolder = holder.Process.Id;
        await holder.Process.KillAsync();
        var ended = await other.WaitForRunAsync(id, r => (string?)r["status"] is "succeeded" or "failed", "ended");
        ended["status"]!.GetValue<string>().Should().Be("succeeded", ended.ToJsonString());
        var run = await ShowAsync(store, id);
        run["result"]!.ToJsonString().Should().Be("""{"before":"before","by":"alice","approved":true,"late":{"timedOut":true}}""");
        run["steps"]!.AsArray().Should().OnlyContain(s => s!["completions"]!.GetValue<int>() == 1, "every journaled step completed exactly once");
        (await DrivenByAsync(store, id)).Should().NotBe(killedHolder).And.NotBe(killed);
    }

    [Fact]
    public async Task A_run_submitted_through_mcp_serve_is_placed_on_the_cluster_node()
    {
        var store = database.NewStore();
        var script = _dir.Write("scripts/ran-by.csx", Mcp.McpServeProcess.RanBy);
        var node = await ClusterTestNode.StartAsync(_dir.Path, store, "n1");
        _nodes.Add(node);
        await using var client = await Mcp.McpServeProcess.StartAsync(
            Path.Combine(_dir.Path, "scripts"), ["--store", Path.Combine(_dir.Path, "mcp-store"), "--host", node.Client.BaseAddress!.ToString()], new() { ["ORCHESTRATOR_TOKEN"] = ClusterTestNode.Token });

        var run = await Mcp.McpServeProcess.RunAsync(client, script);

        run["status"]!.GetValue<string>().Should().Be("succeeded", run.ToJsonString());
        run["result"]!["doubled"]!.GetValue<int>().Should().Be(42);
        run["result"]!["pid"]!.GetValue<int>().Should().Be(node.Process.Id, "the node's process ran it");
        var runId = run["runId"]!.GetValue<string>();
        JsonNode.Parse(await node.Client.GetStringAsync("/api/runs"))!.AsArray().Select(r => r!["id"]!.GetValue<string>()).Should().Equal(runId);
        (await DrivenByAsync(store, runId)).Should().Be(node.Process.Id, "the cluster's journal names the node's process");
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Port=1;Database=none;Username=u;Password=secret-pw", "cannot be reached")]
    [InlineData("not a database", "--cluster: give a PostgreSQL database")]
    public async Task A_cluster_database_that_cannot_be_used_is_one_line_and_exit_code_2(string cluster, string said)
    {
        using var serve = OrchestratorProcess.Start(_dir.Path, "serve", "--cluster", cluster, "--node", "n1", "--urls", "http://127.0.0.1:0");
        var result = await serve.WaitForExitAsync();

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().Contain(said).And.NotContain("secret-pw");
        result.Stderr.Should().NotContain("Unhandled");
    }

    private async Task RestartAsync(string store, ClusterTestNode dead)
    {
        var node = await ClusterTestNode.StartAsync(_dir.Path, store, dead.Name);
        _nodes[_nodes.IndexOf(dead)] = node;
        dead.Process.Dispose();
        await node.WaitForNodesAsync(3);
    }

    /// <summary>The run's server-sent events from <paramref name="node"/>, from its first to the stream's end.</summary>
    private static async Task<List<(string Name, JsonNode Data)>> FollowAsync(ClusterTestNode node, string id)
    {
        using var timeout = new CancellationTokenSource(OrchestratorProcess.DefaultTimeout);
        using var response = await node.Client.GetAsync($"/api/runs/{id}/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var events = new List<(string, JsonNode)>();
        string? name = null;
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add((name!, JsonNode.Parse(line["data: ".Length..])!));
            }
        }

        return events;
    }

    private static async Task WaitForCompletedStepsAsync(string store, string id, int count)
    {
        await using var data = NpgsqlDataSource.Create(store);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            await using var command = data.CreateCommand("SELECT count(*) FROM journal WHERE run_id = @id AND event = 'Succeeded'");
            command.Parameters.AddWithValue("id", id);
            if ((long)(await command.ExecuteScalarAsync())! >= count)
            {
                return;
            }

            clock.Elapsed.Should().BeLessThan(OrchestratorProcess.DefaultTimeout, $"run {id} completes {count} steps");
            await Task.Delay(20);
        }
    }

    /// <summary>The process the journal says last drove the run.</summary>
    private static async Task<int> DrivenByAsync(string store, string id)
    {
        await using var data = NpgsqlDataSource.Create(store);
        await using var command = data.CreateCommand("SELECT pid FROM runs WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        return (int)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<JsonNode> ShowAsync(string store, string id)
    {
        using var show = OrchestratorProcess.Start(Path.GetTempPath(), "runs", "show", id, "--json", "--store", store);
        var result = await show.WaitForExitAsync();
        result.ExitCode.Should().Be(0, result.ToString());
        return JsonNode.Parse(result.LastLine)!;
    }

}

/// <summary>
/// The three nodes run alone: failure detection is timing, and on a 2-core machine busy with the rest of the suite a
/// node starved of its probes would be declared dead though alive.
/// </summary>
[CollectionDefinition(nameof(ClusterProcessTests), DisableParallelization = true)]
public sealed class ClusterProcessCollection;
