using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Cluster.Agents;
using Orchestrator.Cluster.Runs;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Provisioning;
using Orchestrator.Core.Runs;
using Orchestrator.Core.Workflow;
using Serilog;

namespace Orchestrator.Cluster.Node;

/// <summary>
/// What one node does for the cluster, whoever asks (its own runs or another node's grain call): run agent calls on
/// its own agents, start and take over runs under their leases, and say what it is doing.
/// </summary>
internal sealed class NodeServices(string name, IAgentRegistry localAgents, RunLeases leases, StepNodeLog steps, TimeProvider time, ILogger log)
{
    // Every agent call this node runs, its own runs' and other nodes', passes the agent's MaxConcurrency here.
    private readonly AgentGates _executing = new();
    private int _agentStepsInFlight;
    private volatile bool _stopping;
    private RunManager? _runs;
    private ClusterDirectory? _directory;

    public string Name => name;

    public IAgentRegistry LocalAgents => localAgents;

    public RunLeases Leases => leases;

    public StepNodeLog Steps => steps;

    public ILogger Log => log;

    public TimeProvider Time => time;

    public DateTimeOffset UpSince { get; } = time.GetUtcNow();

    /// <summary>The node's address (host:port of its silo) and HTTP API, for the nodes list.</summary>
    public string? Address { get; set; }

    public string? Url { get; set; }

    /// <summary>The cluster's live nodes and how to reach them; set once the node has joined.</summary>
    public ClusterDirectory Directory
    {
        get => _directory ?? throw new InvalidOperationException("The node has not joined its cluster yet.");
        set => _directory = value;
    }

    /// <summary>The node's run manager; set once the engine is built (it needs this node's agents first).</summary>
    public RunManager Runs
    {
        get => _runs ?? throw new InvalidOperationException("The node has no run manager yet.");
        set => _runs = value;
    }

    public int AgentStepsInFlight => Volatile.Read(ref _agentStepsInFlight);

    /// <summary>From now on a run that ends cancelled was stopped with the node: its lease is handed over, not dropped.</summary>
    public void Stopping() => _stopping = true;

    /// <summary>Runs one agent call on this node's own agent of the kind; null when this node has none.</summary>
    public async ValueTask<AgentResult?> ExecuteAsync(string kind, AgentTask task, CancellationToken cancellationToken)
    {
        var providers = localAgents.FindProviders(kind);
        if (providers.Count == 0)
        {
            return null;
        }

        var provider = providers[0];
        using var slot = await _executing.EnterAsync(provider, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _agentStepsInFlight);
        try
        {
            return await provider.Agent.RunAsync(task, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _agentStepsInFlight);
        }
    }

    /// <summary>Starts a run here; its lease is taken as it starts (<see cref="Observe"/>).</summary>
    public async Task<PlacedRun> StartRunAsync(string scriptPath, string? inputJson)
    {
        try
        {
            var input = inputJson is null ? null : JsonNode.Parse(inputJson);
            var run = await Runs.StartAsync(scriptPath, input, CancellationToken.None).ConfigureAwait(false);
            return new PlacedRun { RunId = run.Id, Node = name };
        }
        catch (ObjectDisposedException)
        {
            return new PlacedRun { Error = $"node {name} is stopping", Node = name };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A script that does not compile, a file that went away: the caller's to fix, said in one line.
            return new PlacedRun { Error = ex.Message, Node = name, BadRequest = true };
        }
    }

    /// <summary>
    /// Takes a run over (its node died or stopped) or resumes it on request: only with its lease, so that no two nodes
    /// drive it; then as <c>resume</c> does, from the journal.
    /// </summary>
    public async Task<PlacedRun> TakeOverAsync(string runId, bool force, IReadOnlyCollection<string> deadNodes)
    {
        if (Runs.Find(runId) is not null)
        {
            return new PlacedRun { RunId = runId, Node = name };
        }

        if (!await leases.TryClaimAsync(runId, deadNodes, CancellationToken.None).ConfigureAwait(false))
        {
            var owner = await leases.OwnerAsync(runId, CancellationToken.None).ConfigureAwait(false);
            return new PlacedRun { Error = $"run {runId} is driven by node {owner ?? "another node"}", Node = name, BadRequest = true };
        }

        try
        {
            var run = await Runs.ResumeAsync(runId, force, CancellationToken.None).ConfigureAwait(false);
            log.Information("Node {Node} took over run {RunId}", name, runId);
            return new PlacedRun { RunId = run.Id, Node = name };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Nothing to resume (it ended, or it cannot be): the lease has nothing left to guard.
            leases.Release(runId, handOver: false);
            return new PlacedRun { Error = ex.Message, Node = name, BadRequest = ex is ResumeRefusedException, Refused = ex is ResumeRefusedException };
        }
    }

    /// <summary>Takes the run's lease for a resume here (<see cref="RunManager.Claim"/>): free, ours, expired, or its node dead.</summary>
    public Task<bool> ClaimAsync(string runId, CancellationToken cancellationToken) =>
        leases.TryClaimAsync(runId, _directory?.DeadNodes() ?? [], cancellationToken);

    /// <summary>
    /// The node stops: the leases of the runs parked here are handed over (expired at once), so that another node
    /// continues them when their wait ends; the runs in flight hand theirs over as they end cancelled.
    /// </summary>
    public void HandOverParked()
    {
        foreach (var runId in Runs.Parked.Ids)
        {
            leases.Release(runId, handOver: true);
        }
    }

    public NodeInfo Describe() => new()
    {
        Name = name,
        Address = Address,
        Url = Url,
        UpSince = UpSince,
        Agents = [.. localAgents.AgentKinds.Order(StringComparer.OrdinalIgnoreCase)],
        RunsInFlight = _runs?.InFlight.Count ?? 0,
        AgentStepsInFlight = AgentStepsInFlight,
    };

    /// <summary>A run observer factory: a new run's lease is taken before its first step, and given up at its end.</summary>
    public IRunObserver? Observe(RunStart start)
    {
        if (start.LastSeq == 0)
        {
            leases.TakeNew(start.Run.Id);
        }

        return new LeaseObserver(this, start.Run.Id);
    }

    private sealed class LeaseObserver(NodeServices node, string runId) : IRunObserver
    {
        public void OnStep(in JournalEntry entry)
        {
        }

        public void OnEnd(RunEnd end)
        {
            if (end.Status == RunStatus.Waiting && !node._stopping)
            {
                // Parked here: the lease stays, renewed with the node's runs, so that if the node dies another takes the
                // run over and continues it when its wait ends.
                return;
            }

            try
            {
                node.Leases.Release(runId, handOver: node._stopping && end.Status is RunStatus.Cancelled or RunStatus.Waiting);
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or InvalidOperationException)
            {
                // The lease expires on its own; another node then finds the run ended and drops it.
                node.Log.Warning(ex, "Could not give up the lease of run {RunId}", runId);
            }
        }
    }
}
