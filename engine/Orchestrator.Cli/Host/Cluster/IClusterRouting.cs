using System.Text.Json.Nodes;

namespace Orchestrator.Cli.Host.Cluster;

/// <summary>
/// What the host's API asks of the cluster when it is a node of one: where runs go, who drives a run, the nodes.
/// Only BCL types cross it, so a host on its own never loads Orleans.
/// </summary>
internal interface IClusterRouting
{
    /// <summary>This node's name.</summary>
    string Node { get; }

    /// <summary>Starts a run on the node Orleans places it on; the run's id, or why not (bad request or not).</summary>
    Task<ClusterAnswer> StartAsync(string scriptPath, JsonNode? input, CancellationToken cancellationToken);

    /// <summary>Resumes a run on a node placed by load, under the run's lease.</summary>
    Task<ClusterAnswer> ResumeAsync(string runId, bool force, CancellationToken cancellationToken);

    /// <summary>Cancels a run on whichever node drives it; false when none does.</summary>
    Task<bool> CancelAsync(string runId, CancellationToken cancellationToken);

    /// <summary>Continues a parked run whose wait may have ended, on the node that holds it (this one if none does).</summary>
    Task<bool> WakeAsync(string runId, CancellationToken cancellationToken);

    /// <summary>
    /// The run's lease: <c>Leased</c> while the cluster drives the run or is about to take it over (such a run is never
    /// "interrupted", even if its node just died), <c>Owner</c> the node that drives it now (null while it is taken over).
    /// </summary>
    Task<(bool Leased, string? Owner)> LeaseAsync(string runId, CancellationToken cancellationToken);

    /// <summary>Every run with a lease (see <see cref="LeaseAsync"/>).</summary>
    Task<IReadOnlySet<string>> LeasedAsync(CancellationToken cancellationToken);

    /// <summary>The nodes (name, address, up since, runs owned, agent steps in flight, agents).</summary>
    Task<JsonArray> NodesAsync(CancellationToken cancellationToken);

    /// <summary>The node each of the run's agent steps ran on (its last attempt), by step id.</summary>
    Task<IReadOnlyDictionary<string, string>> StepNodesAsync(string runId, CancellationToken cancellationToken);
}

/// <summary>A run placed on a node, or why it was not (<see cref="BadRequest"/>: the caller's to fix).</summary>
internal sealed record ClusterAnswer(string? RunId, string? Node, string? Error, bool BadRequest);
