using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Orchestrator.Abstractions;
using Orchestrator.Cluster.Agents;
using Orchestrator.Cluster.Node;
using Orchestrator.Cluster.Runs;
using Orchestrator.Cluster.Schema;
using Orchestrator.Core.Workflow;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace Orchestrator.Tests.Cluster;

/// <summary>
/// An Orleans test cluster (TestingHost, silos in this process) whose silos are nodes as <c>serve --cluster</c> makes them:
/// each has its <see cref="NodeServices"/> with the agents a test gives it, leases in the test's PostgreSQL store.
/// </summary>
internal sealed class InProcessCluster : IAsyncDisposable
{
    // TestingHost builds each silo from a configurator type it makes itself, so what the test gives reaches it through here.
    private static InProcessCluster? _current;

    private readonly NpgsqlDataSource _database;
    private readonly Func<string, IEnumerable<IAgent>> _agents;
    private readonly ConcurrentDictionary<string, NodeServices> _nodes = new(StringComparer.Ordinal);
    private readonly TimeSpan _lease;

    private InProcessCluster(string store, Func<string, IEnumerable<IAgent>> agents, TimeSpan lease)
    {
        _database = NpgsqlDataSource.Create(store);
        _agents = agents;
        _lease = lease;
    }

    public TestCluster Cluster { get; private set; } = null!;

    public NpgsqlDataSource Database => _database;

    /// <summary>Starts <paramref name="silos"/> silos; <paramref name="agents"/> says which agents the node of each name has.</summary>
    public static async Task<InProcessCluster> StartAsync(string store, int silos, Func<string, IEnumerable<IAgent>> agents, TimeSpan? lease = null)
    {
        var cluster = new InProcessCluster(store, agents, lease ?? TimeSpan.FromMinutes(1));
        await ClusterSchema.EnsureAsync(cluster._database, CancellationToken.None);
        _current = cluster;
        cluster.Cluster = new TestClusterBuilder((short)silos).AddSiloBuilderConfigurator<NodeConfigurator>().Build();
        await cluster.Cluster.DeployAsync();
        foreach (var silo in cluster.Cluster.Silos)
        {
            // Made on first use; the test wants every node now.
            ((InProcessSiloHandle)silo).SiloHost.Services.GetRequiredService<NodeServices>();
        }

        foreach (var node in cluster._nodes.Values)
        {
            await node.Directory.RefreshAsync(CancellationToken.None);
        }

        return cluster;
    }

    /// <summary>The node of a silo (its name is the silo's).</summary>
    public NodeServices Node(SiloHandle silo) => _nodes[silo.Name];

    public IReadOnlyList<NodeServices> Nodes => [.. Cluster.Silos.Select(Node)];

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        foreach (var node in _nodes.Values)
        {
            await node.Steps.DisposeAsync();
        }

        await _database.DisposeAsync();
        _current = null;
    }

    private NodeServices CreateNode(IServiceProvider services)
    {
        var name = services.GetRequiredService<IOptions<SiloOptions>>().Value.SiloName;
        var node = new NodeServices(
            name,
            new AgentRegistry(_agents(name)),
            new RunLeases(_database, name, _lease),
            new StepNodeLog(_database, TimeProvider.System, Serilog.Core.Logger.None),
            TimeProvider.System,
            Serilog.Core.Logger.None);
        node.Directory = new ClusterDirectory(services.GetRequiredService<IClusterMembershipService>(), services.GetRequiredService<IGrainFactory>(), name, Serilog.Core.Logger.None);
        _nodes[name] = node;
        return node;
    }

    public sealed class NodeConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var cluster = _current ?? throw new InvalidOperationException("No in-process cluster is starting.");
            ClusterNode.Configure(siloBuilder, TimeSpan.FromSeconds(2));
            siloBuilder.Services.AddSingleton(cluster.CreateNode);
        }
    }
}

/// <summary>An agent that tells which node ran it and holds each call until the test opens its gate, counting calls in flight per node.</summary>
internal sealed class NodeAgent(string node, string kind, int maxConcurrency, NodeMeter meter) : IAgent
{
    public string Kind => kind;

    public int MaxConcurrency => maxConcurrency;

    public async ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        meter.Enter(node, task);
        try
        {
            await meter.Gate.WaitAsync(cancellationToken);
            return AgentResult.Ok(node);
        }
        finally
        {
            meter.Exit(node);
        }
    }
}

/// <summary>Calls in flight per node, the most ever seen at once on each, and each call's idempotency key and attempt.</summary>
internal sealed class NodeMeter
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _now = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _most = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Gate => _open.Task;

    public ConcurrentBag<(string Node, string Key, int Attempt)> Calls { get; } = [];

    public int InFlight
    {
        get
        {
            lock (_lock)
            {
                return _now.Values.Sum();
            }
        }
    }

    public IReadOnlyDictionary<string, int> Most
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, int>(_most);
            }
        }
    }

    public void Open() => _open.TrySetResult();

    public void Enter(string node, AgentTask task)
    {
        Calls.Add((node, task.IdempotencyKey, task.Attempt));
        lock (_lock)
        {
            var now = _now[node] = _now.GetValueOrDefault(node) + 1;
            _most[node] = Math.Max(_most.GetValueOrDefault(node), now);
        }
    }

    public void Exit(string node)
    {
        lock (_lock)
        {
            _now[node]--;
        }
    }
}
