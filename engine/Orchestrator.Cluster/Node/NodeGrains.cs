using Orchestrator.Abstractions;
using Orleans;
using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Runtime;

namespace Orchestrator.Cluster.Node;

/// <summary>The node's own grain (see <see cref="INodeGrain"/>); reentrant, so that its agent calls run side by side.</summary>
[NodePlacement]
[Reentrant]
internal sealed class NodeGrain(NodeServices node) : Grain, INodeGrain
{
    public async Task<AgentCallResult> RunAgentAsync(AgentCall call, GrainCancellationToken cancellation)
    {
        var task = new AgentTask(call.RunId, call.StepId, call.InputJson is null ? null : System.Text.Json.Nodes.JsonNode.Parse(call.InputJson))
        {
            Attempt = call.Attempt,
        };
        var result = await node.ExecuteAsync(call.Kind, task, cancellation.CancellationToken);
        return result is null
            ? new AgentCallResult { Missing = true }
            : new AgentCallResult
            {
                Success = result.Success,
                OutputJson = result.Output?.ToJsonString(),
                Error = result.Error,
                Severity = (int)result.Severity,
            };
    }

    public Task<bool> CancelRunAsync(string runId) => Task.FromResult(node.Runs.Cancel(runId));

    public Task<bool> WakeRunAsync(string runId) => node.Runs.Parked.WakeAsync(runId, CancellationToken.None);

    public Task<NodeInfo> DescribeAsync() => Task.FromResult(node.Describe());
}

/// <summary>Places a run by load (see <see cref="IRunnerGrain"/>); done with once the run is under way.</summary>
[ActivationCountBasedPlacement]
internal sealed class RunnerGrain(NodeServices node) : Grain, IRunnerGrain
{
    public async Task<PlacedRun> StartAsync(string scriptPath, string? inputJson)
    {
        DeactivateOnIdle();
        return await node.StartRunAsync(scriptPath, inputJson);
    }

    public async Task<PlacedRun> ResumeAsync(string runId, bool force)
    {
        DeactivateOnIdle();
        return await node.TakeOverAsync(runId, force, node.Directory.DeadNodes());
    }
}
