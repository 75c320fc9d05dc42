using Orchestrator.Abstractions;
using Orchestrator.Cluster.Agents;
using Orchestrator.Tests.Store;

namespace Orchestrator.Tests.Cluster;

/// <summary>Placement of agent calls, MaxConcurrency and run ownership on an Orleans test cluster (TestingHost).</summary>
public sealed class ClusterGrainTests(PostgresTestDatabase database) : IClassFixture<PostgresTestDatabase>
{
    [Fact]
    public async Task Agent_calls_spread_over_every_node_that_has_the_agent_and_none_go_to_a_node_without_it()
    {
        var meter = new NodeMeter();
        var silos = 0;
        await using var cluster = await InProcessCluster.StartAsync(database.NewStore(), 3, name =>
            Interlocked.Increment(ref silos) == 3 ? [] : [new NodeAgent(name, "work", 0, meter)]);
        var caller = cluster.Nodes.First(n => n.LocalAgents.FindAgent("work") is not null);
        var agent = new ClusterAgentRegistry(caller).FindAgent("work")!;

        var calls = Enumerable.Range(0, 90).Select(i => agent.RunAsync(new AgentTask("run-1", $"step-{i}", null), CancellationToken.None).AsTask()).ToList();
        await WaitAsync(() => meter.InFlight == 90, "every call in flight");
        meter.Open();
        var results = await Task.WhenAll(calls);

        results.Should().OnlyContain(r => r.Success);
        var withAgent = cluster.Nodes.Where(n => n.LocalAgents.FindAgent("work") is not null).Select(n => n.Name).ToList();
        var perNode = results.GroupBy(r => r.Output!.GetValue<string>()).ToDictionary(g => g.Key, g => g.Count());
        perNode.Keys.Should().BeEquivalentTo(withAgent, "only nodes with the agent run its calls");
        perNode.Values.Should().OnlyContain(count => count == 45, "the least busy node takes each call");
    }

    [Fact]
    public async Task No_node_runs_more_calls_of_an_agent_at_once_than_its_MaxConcurrency_whichever_nodes_send_them()
    {
        var meter = new NodeMeter();
        await using var cluster = await InProcessCluster.StartAsync(database.NewStore(), 3, name => [new NodeAgent(name, "work", 2, meter)]);
        var senders = cluster.Nodes.Take(2).Select(n => new ClusterAgentRegistry(n).FindAgent("work")!).ToList();

        var calls = senders.SelectMany((agent, s) => Enumerable.Range(0, 20)
            .Select(i => agent.RunAsync(new AgentTask("run-1", $"s{s}-{i}", null), CancellationToken.None).AsTask())).ToList();
        await WaitAsync(() => meter.InFlight == 6, "two calls running on each of the three nodes");
        meter.Open();
        await Task.WhenAll(calls);

        meter.Most.Should().HaveCount(3).And.OnlyContain(m => m.Value == 2, "each node runs two at once, never more");
    }

    [Fact]
    public async Task Calls_in_flight_on_a_node_that_dies_run_again_on_a_live_node_as_the_next_attempt_with_the_same_idempotency_key()
    {
        var meter = new NodeMeter();
        await using var cluster = await InProcessCluster.StartAsync(database.NewStore(), 3, name => [new NodeAgent(name, "work", 0, meter)]);
        var caller = cluster.Nodes[0];
        var doomed = cluster.Nodes[2];
        var agent = new ClusterAgentRegistry(caller).FindAgent("work")!;

        var calls = Enumerable.Range(0, 30).Select(i => agent.RunAsync(new AgentTask("run-1", $"step-{i}", null), CancellationToken.None).AsTask()).ToList();
        await WaitAsync(() => meter.InFlight == 30, "every call in flight");
        var lost = meter.Calls.Where(c => c.Node == doomed.Name).Select(c => c.Key).ToHashSet();
        lost.Should().NotBeEmpty();
        await cluster.Cluster.KillSiloAsync(cluster.Cluster.Silos.Single(s => s.Name == doomed.Name));
        await WaitAsync(() => meter.Calls.Count(c => c.Node != doomed.Name && lost.Contains(c.Key)) == lost.Count, "the lost calls made again elsewhere");
        meter.Open();
        var results = await Task.WhenAll(calls);

        results.Should().OnlyContain(r => r.Success && r.Output!.GetValue<string>() != doomed.Name);
        foreach (var key in lost)
        {
            meter.Calls.Where(c => c.Key == key).Select(c => (c.Node == doomed.Name, c.Attempt)).Should().BeEquivalentTo([(true, 1), (false, 2)], key);
        }
    }

    [Fact]
    public async Task A_run_is_driven_by_one_node_only_and_a_node_back_from_a_partition_finds_its_lease_taken()
    {
        await using var cluster = await InProcessCluster.StartAsync(database.NewStore(), 3, _ => []);
        var (first, second, third) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);

        // Two nodes asking for a free run at once: one gets it.
        var claims = await Task.WhenAll(
            second.Leases.TryClaimAsync("run-a", [], CancellationToken.None),
            third.Leases.TryClaimAsync("run-a", [], CancellationToken.None));
        claims.Count(c => c).Should().Be(1);

        // A live node's run is not for the taking.
        first.Leases.TakeNew("run-b");
        (await second.Leases.TryClaimAsync("run-b", second.Directory.DeadNodes(), CancellationToken.None)).Should().BeFalse();

        // Cut off (its silo killed), the first node is declared dead by Orleans: now another node takes the run over.
        await cluster.Cluster.KillSiloAsync(cluster.Cluster.Silos.Single(s => s.Name == first.Name));
        await WaitAsync(() => second.Directory.DeadNodes().Contains(first.Name), "the first node declared dead");
        (await second.Leases.TryClaimAsync("run-b", second.Directory.DeadNodes(), CancellationToken.None)).Should().BeTrue();
        (await third.Leases.TryClaimAsync("run-b", third.Directory.DeadNodes(), CancellationToken.None)).Should().BeFalse("the second node holds it now");

        // Back from the partition, the first node learns at its next renewal that the run is no longer its own, and cannot take it back.
        (await first.Leases.RenewAsync(["run-b"], CancellationToken.None)).Should().Equal("run-b");
        (await first.Leases.TryClaimAsync("run-b", [], CancellationToken.None)).Should().BeFalse();
        (await second.Leases.OwnerAsync("run-b", CancellationToken.None)).Should().Be(second.Name);
    }

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (!condition())
        {
            limit.IsCancellationRequested.Should().BeFalse($"waiting for {what}");
            await Task.Delay(10, CancellationToken.None);
        }
    }
}
