using Orleans;
using Orleans.Concurrency;

namespace Orchestrator.Cluster.Node;

/// <summary>
/// One node's own grain, keyed by the node's name and placed on that node (<see cref="NodePlacement"/>). Through it other nodes run agent calls here, cancel runs this node drives,
/// and read its counters.
/// </summary>
public interface INodeGrain : IGrainWithStringKey
{
    Task<AgentCallResult> RunAgentAsync(AgentCall call, GrainCancellationToken cancellation);

    Task<bool> CancelRunAsync(string runId);

    /// <summary>A decision or an event for a run parked on this node came in elsewhere: continue it if its wait ended.</summary>
    Task<bool> WakeRunAsync(string runId);

    Task<NodeInfo> DescribeAsync();
}

/// <summary>
/// Places runs: a new run (keyed by a fresh id) or a run to take over (keyed by the run's id) activates on the node
/// Orleans picks by load (activation-count placement), which then drives the run under its lease.
/// </summary>
public interface IRunnerGrain : IGrainWithStringKey
{
    Task<PlacedRun> StartAsync(string scriptPath, string? inputJson);

    Task<PlacedRun> ResumeAsync(string runId, bool force);
}

/// <summary>An agent call sent to another node: what <c>AgentTask</c> carries, with JSON as text.</summary>
[GenerateSerializer, Immutable]
public sealed class AgentCall
{
    [Id(0)] public required string Kind { get; init; }
    [Id(1)] public required string RunId { get; init; }
    [Id(2)] public required string StepId { get; init; }
    [Id(3)] public int Attempt { get; init; }
    [Id(4)] public string? InputJson { get; init; }
}

/// <summary>What a node's agent answered; <see cref="Missing"/> when the node has no agent of the kind.</summary>
[GenerateSerializer, Immutable]
public sealed class AgentCallResult
{
    [Id(0)] public bool Success { get; init; }
    [Id(1)] public string? OutputJson { get; init; }
    [Id(2)] public string? Error { get; init; }
    [Id(3)] public int Severity { get; init; }
    [Id(4)] public bool Missing { get; init; }
}

/// <summary>A run a node started or resumed: its id, or why not.</summary>
[GenerateSerializer, Immutable]
public sealed class PlacedRun
{
    [Id(0)] public string? RunId { get; init; }
    [Id(1)] public string? Error { get; init; }
    [Id(2)] public string? Node { get; init; }

    /// <summary>The error is the caller's (a script that does not compile, a refused resume), not the node's.</summary>
    [Id(3)] public bool BadRequest { get; init; }

    /// <summary>The run cannot be resumed as it is (its script changed, say): asking again will not help.</summary>
    [Id(4)] public bool Refused { get; init; }
}

/// <summary>A node as it describes itself: where it is, since when, its agents and what it is doing now.</summary>
[GenerateSerializer, Immutable]
public sealed class NodeInfo
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public string? Address { get; init; }
    [Id(2)] public string? Url { get; init; }
    [Id(3)] public DateTimeOffset UpSince { get; init; }
    [Id(4)] public string[] Agents { get; init; } = [];
    [Id(5)] public int RunsInFlight { get; init; }
    [Id(6)] public int AgentStepsInFlight { get; init; }
}
