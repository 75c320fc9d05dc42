using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using Orchestrator.Cluster.Agents;
using Orchestrator.Cluster.Node;
using Orchestrator.Cluster.Runs;
using Orchestrator.Cluster.Schema;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Journal.Postgres;
using Orchestrator.Core.Runs;
using Orchestrator.Core.Workflow;
using Serilog;

namespace Orchestrator.Cli.Host.Cluster;

/// <summary>
/// <c>serve --cluster</c>: the host as a node of an Orleans cluster over its PostgreSQL database. Made in two steps, as
/// the host is: <see cref="PrepareAsync"/> before the engine (which takes the cluster's agents), <see cref="JoinAsync"/>
/// once the run manager and the HTTP address exist.
/// </summary>
internal sealed class ClusterHosting : IClusterRouting, IAsyncDisposable
{
    private readonly ClusterSettings _settings;
    private readonly NpgsqlDataSource _database;
    private readonly NodeServices _node;
    private ClusterNode? _cluster;

    private ClusterHosting(ClusterSettings settings, NpgsqlDataSource database, NodeServices node)
    {
        _settings = settings;
        _database = database;
        _node = node;
        Agents = new ClusterAgentRegistry(node);
    }

    public string Node => _node.Name;

    /// <summary>The engine's agents: this node's, reaching across the cluster.</summary>
    public IAgentRegistry Agents { get; }

    /// <summary>Checks the settings, reaches the database and makes the cluster's tables; any failure is one line for the user.</summary>
    public static async Task<ClusterHosting> PrepareAsync(HostSettings settings, IStoreJournal journal, IAgentRegistry localAgents, ILogger log, CancellationToken cancellationToken)
    {
        var name = settings.Node ?? $"{Environment.MachineName}.{Environment.ProcessId}";
        if (!ClusterSettings.IsValidName(name))
        {
            throw new CliException($"--node {name}: use letters, digits, '_' and '.' (at most 64)");
        }

        var address = IPAddress.Loopback;
        if (settings.NodeAddress is { } given && !IPAddress.TryParse(given, out address!))
        {
            throw new CliException($"--node-address {given}: not an IP address");
        }

        NpgsqlConnectionStringBuilder connection;
        try
        {
            connection = PostgresConnection.Parse(settings.Cluster!);
        }
        catch (ArgumentException ex)
        {
            throw new CliException($"--cluster: {ex.Message}");
        }

        var database = NpgsqlDataSource.Create(connection.ConnectionString);
        try
        {
            await ClusterSchema.EnsureAsync(database, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgresConnection.Reason(ex) is { } reason)
        {
            await database.DisposeAsync().ConfigureAwait(false);
            throw new CliException($"--cluster {PostgresConnection.Describe(connection)}: {reason}");
        }

        var cluster = new ClusterSettings(connection.ConnectionString, name) { Address = address, FailureTimeout = settings.FailureTimeout };
        var leases = new RunLeases(database, name, settings.FailureTimeout);

        // The node writes a run's journal only while it holds the run's lease.
        ((PostgresJournal)journal).FenceWith(leases.Held);
        var steps = new StepNodeLog(database, TimeProvider.System, log);
        return new ClusterHosting(cluster, database, new NodeServices(name, localAgents, leases, steps, TimeProvider.System, log));
    }

    /// <summary>Takes a new run's lease as it starts, and gives it up at its end.</summary>
    public IRunObserver? Observe(RunStart start) => _node.Observe(start);

    /// <summary>Joins the cluster: from now on other nodes place runs and agent calls here.</summary>
    public async Task JoinAsync(RunManager runs, string url, CancellationToken cancellationToken)
    {
        _node.Runs = runs;
        _node.Url = url;
        try
        {
            _cluster = await ClusterNode.StartAsync(_settings, _node, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new CliException($"--cluster: node {_node.Name} could not join: {PostgresConnection.Reason(ex) ?? ex.Message}");
        }

        _node.Log.Information("Node {Node} joined the cluster at {Address}", _node.Name, _node.Address);
    }

    /// <summary>Before the host cancels its runs: take nothing more over, and hand the runs back rather than drop them.</summary>
    public Task StopKeepingAsync() => _cluster?.StopKeepingAsync() ?? Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            await _node.Steps.DisposeAsync().ConfigureAwait(false);
        }

        await _database.DisposeAsync().ConfigureAwait(false);
    }

    public async Task<ClusterAnswer> StartAsync(string scriptPath, JsonNode? input, CancellationToken cancellationToken)
    {
        var placed = await Grains.GetGrain<IRunnerGrain>(Guid.NewGuid().ToString("N")).StartAsync(scriptPath, input?.ToJsonString()).WaitAsync(cancellationToken).ConfigureAwait(false);
        return new ClusterAnswer(placed.RunId, placed.Node, placed.Error, placed.BadRequest);
    }

    public async Task<ClusterAnswer> ResumeAsync(string runId, bool force, CancellationToken cancellationToken)
    {
        var placed = await Grains.GetGrain<IRunnerGrain>(runId).ResumeAsync(runId, force).WaitAsync(cancellationToken).ConfigureAwait(false);
        return new ClusterAnswer(placed.RunId, placed.Node, placed.Error, placed.BadRequest);
    }

    public async Task<bool> CancelAsync(string runId, CancellationToken cancellationToken)
    {
        var owner = await _node.Leases.OwnerAsync(runId, cancellationToken).ConfigureAwait(false);
        return owner is not null && await Grains.GetGrain<INodeGrain>(owner).CancelRunAsync(runId).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<(bool Leased, string? Owner)> LeaseAsync(string runId, CancellationToken cancellationToken) =>
        await _node.Leases.LeaseAsync(runId, cancellationToken).ConfigureAwait(false) is { } lease ? (true, lease.Live ? lease.Node : null) : (false, null);

    public async Task<bool> WakeAsync(string runId, CancellationToken cancellationToken)
    {
        var owner = await _node.Leases.OwnerAsync(runId, cancellationToken).ConfigureAwait(false);
        return owner is null || owner == _node.Name
            ? await _node.Runs.Parked.WakeAsync(runId, cancellationToken).ConfigureAwait(false)
            : await Grains.GetGrain<INodeGrain>(owner).WakeRunAsync(runId).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Takes the run's lease before this node resumes it (<see cref="RunManager.Claim"/>).</summary>
    public Task<bool> ClaimAsync(string runId, CancellationToken cancellationToken) => _node.ClaimAsync(runId, cancellationToken);

    public Task<IReadOnlySet<string>> LeasedAsync(CancellationToken cancellationToken) => _node.Leases.LeasedAsync(cancellationToken);

    public async Task<JsonArray> NodesAsync(CancellationToken cancellationToken)
    {
        var owned = await _node.Leases.CountByNodeAsync(cancellationToken).ConfigureAwait(false);
        if (_cluster is not null)
        {
            await _node.Directory.RefreshAsync(cancellationToken).ConfigureAwait(false);
        }

        var nodes = _cluster is null ? [] : _node.Directory.Nodes;
        return new JsonArray([.. nodes.Select(n => (JsonNode)new JsonObject
        {
            ["name"] = n.Name,
            ["address"] = n.Address,
            ["url"] = n.Url,
            ["upSince"] = n.UpSince,
            ["runsOwned"] = owned.GetValueOrDefault(n.Name),
            ["runsInFlight"] = n.RunsInFlight,
            ["agentStepsInFlight"] = n.AgentStepsInFlight,
            ["agents"] = new JsonArray([.. n.Agents.Select(a => (JsonNode)a)]),
            ["self"] = n.Name == _node.Name,
        })]);
    }

    public Task<IReadOnlyDictionary<string, string>> StepNodesAsync(string runId, CancellationToken cancellationToken) =>
        StepNodeLog.ReadAsync(_database, runId, cancellationToken);

    private Orleans.IGrainFactory Grains => _cluster?.Grains ?? throw new InvalidOperationException("The node has not joined its cluster yet.");
}
