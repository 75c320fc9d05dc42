using System.Diagnostics;
using Npgsql;
using Orchestrator.Cluster.Agents;
using Orchestrator.Cluster.Node;
using Orchestrator.Cluster.Runs;
using Orchestrator.Cluster.Schema;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Journal.Postgres;
using Orchestrator.Core.Runs;
using Orchestrator.Core.Workflow;
using Serilog.Core;

namespace Orchestrator.Bench.Scenarios;

/// <summary>
/// The cluster's figures, with nodes as <c>serve --cluster</c> makes them (an Orleans silo, a run manager and an engine
/// over the PostgreSQL store each), all in this process on loopback: the cost of an agent call placed on another node,
/// and short runs per second through one, two and three nodes.
/// </summary>
internal sealed class ClusterScenario(ScenarioSettings settings, TextWriter progress)
{
    public sealed record Figures(double RemoteUsPerStep, double[] RunsPerSecond);

    public async Task<Figures> MeasureAsync(CancellationToken cancellationToken)
    {
        double remote;
        await using (var two = await BenchCluster.StartAsync(settings.Postgres!, 2, cancellationToken).ConfigureAwait(false))
        {
            remote = await RemoteCallUsAsync(two, cancellationToken).ConfigureAwait(false);
        }

        progress.WriteLine($"cluster: a no-op agent call on another node {remote:0.0} µs");
        var runsPerSecond = new double[3];
        for (var nodes = 1; nodes <= 3; nodes++)
        {
            await using var cluster = await BenchCluster.StartAsync(settings.Postgres!, nodes, cancellationToken).ConfigureAwait(false);
            runsPerSecond[nodes - 1] = await RunsPerSecondAsync(cluster, cancellationToken).ConfigureAwait(false);
            progress.WriteLine($"cluster: {runsPerSecond[nodes - 1]:0.0} short runs/s through {nodes} node(s)");
        }

        return new Figures(remote, runsPerSecond);
    }

    /// <summary>One call after another from the first node to the second's grain, each running the no-op agent there.</summary>
    private async Task<double> RemoteCallUsAsync(BenchCluster cluster, CancellationToken cancellationToken)
    {
        var target = cluster.Nodes[0].Grains.GetGrain<INodeGrain>(cluster.Nodes[1].Services.Name);
        async Task CallsAsync(int count)
        {
            using var none = new Orleans.GrainCancellationTokenSource();
            for (var i = 0; i < count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var answer = await target.RunAgentAsync(new AgentCall { Kind = "noop", RunId = "bench", StepId = $"s{i}", Attempt = 1 }, none.Token).ConfigureAwait(false);
                if (!answer.Success)
                {
                    throw new InvalidOperationException($"the remote no-op call failed: {answer.Error}");
                }
            }
        }

        var calls = 200 * settings.Repeats;
        await CallsAsync(calls / 4).ConfigureAwait(false);
        var samples = new List<double>();
        for (var round = 0; round < 5; round++)
        {
            var clock = Stopwatch.StartNew();
            await CallsAsync(calls).ConfigureAwait(false);
            samples.Add(clock.Elapsed.TotalMicroseconds / calls);
        }

        return samples.Order().ElementAt(samples.Count / 2);
    }

    /// <summary>Short runs (ten no-op steps) submitted round the nodes at once, placed by Orleans, until all have ended.</summary>
    private async Task<double> RunsPerSecondAsync(BenchCluster cluster, CancellationToken cancellationToken)
    {
        var runs = 20 * settings.Repeats;
        async Task<double> BatchAsync()
        {
            var clock = Stopwatch.StartNew();
            var placed = await Task.WhenAll(Enumerable.Range(0, runs).Select(i =>
                cluster.Nodes[i % cluster.Nodes.Count].Grains.GetGrain<IRunnerGrain>(Guid.NewGuid().ToString("N")).StartAsync("bench:short", null))).ConfigureAwait(false);
            foreach (var run in placed)
            {
                var owner = cluster.Nodes.Single(n => n.Services.Name == run.Node);
                if (owner.Services.Runs.Find(run.RunId!) is { } active)
                {
                    await active.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            return runs / clock.Elapsed.TotalSeconds;
        }

        await BatchAsync().ConfigureAwait(false);
        var samples = new List<double>();
        for (var round = 0; round < 3; round++)
        {
            samples.Add(await BatchAsync().ConfigureAwait(false));
        }

        return samples.Order().ElementAt(samples.Count / 2);
    }

    /// <summary>A cluster of nodes in this process over a fresh schema of the server, dropped afterwards.</summary>
    private sealed class BenchCluster : IAsyncDisposable
    {
        private readonly NpgsqlDataSource _admin;
        private readonly string _schema;

        private BenchCluster(NpgsqlDataSource admin, string schema)
        {
            _admin = admin;
            _schema = schema;
        }

        public List<BenchNode> Nodes { get; } = [];

        public static async Task<BenchCluster> StartAsync(string server, int nodes, CancellationToken cancellationToken)
        {
            var schema = "bench_cluster_" + Guid.NewGuid().ToString("N")[..12];
            var admin = NpgsqlDataSource.Create(server);
            await using (var create = admin.CreateCommand($"CREATE SCHEMA {schema}"))
            {
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            var cluster = new BenchCluster(admin, schema);
            var store = new NpgsqlConnectionStringBuilder(server) { SearchPath = schema }.ConnectionString;
            for (var i = 0; i < nodes; i++)
            {
                cluster.Nodes.Add(await BenchNode.StartAsync(store, $"bench{i}", cancellationToken).ConfigureAwait(false));
            }

            return cluster;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var node in Nodes)
            {
                await node.DisposeAsync().ConfigureAwait(false);
            }

            NpgsqlConnection.ClearAllPools();
            await using (var drop = _admin.CreateCommand($"DROP SCHEMA {_schema} CASCADE"))
            {
                await drop.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }

            await _admin.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>One node: its store connection, engine, run manager and silo.</summary>
    private sealed class BenchNode(NpgsqlDataSource database, PostgresJournal journal, RunManager runs, NodeServices services, ClusterNode node) : IAsyncDisposable
    {
        public NodeServices Services => services;

        public Orleans.IGrainFactory Grains => node.Grains;

        public static async Task<BenchNode> StartAsync(string store, string name, CancellationToken cancellationToken)
        {
            var database = NpgsqlDataSource.Create(store);
            await ClusterSchema.EnsureAsync(database, cancellationToken).ConfigureAwait(false);
            var journal = await Task.Run(() => PostgresJournal.Open(store), cancellationToken).ConfigureAwait(false);
            var services = new NodeServices(name, new AgentRegistry([new NoOpAgent()]), new RunLeases(database, name, TimeSpan.FromSeconds(10)), new StepNodeLog(database, TimeProvider.System, Logger.None), TimeProvider.System, Logger.None);
            var engine = new WorkflowEngine(journal, new ClusterAgentRegistry(services), reports: null, TimeProvider.System, Logger.None);
            var runs = new RunManager(engine, journal, new ShortRuns(), Logger.None) { Observers = [services.Observe] };
            services.Runs = runs;
            var node = await ClusterNode.StartAsync(new ClusterSettings(store, name), services, cancellationToken).ConfigureAwait(false);
            return new BenchNode(database, journal, runs, services, node);
        }

        public async ValueTask DisposeAsync()
        {
            await node.StopKeepingAsync().ConfigureAwait(false);
            await runs.DisposeAsync().ConfigureAwait(false);
            await node.DisposeAsync().ConfigureAwait(false);
            await journal.DisposeAsync().ConfigureAwait(false);
            await database.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Every run is a short one: one chain of ten no-op agent steps.</summary>
    private sealed class ShortRuns : IProgramSource
    {
        private readonly ChainsWorkflow _program = new(1, 10);

        public IWorkflowProgram Get(string scriptPath, CancellationToken cancellationToken) => _program;
    }
}
