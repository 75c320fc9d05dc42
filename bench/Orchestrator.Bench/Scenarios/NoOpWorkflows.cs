using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Bench.Scenarios;

/// <summary>
/// The no-op unit of work every per-step figure is made of: one real asynchronous hop (<see cref="Task.Yield"/>),
/// so that concurrent chains really interleave, and nothing else.
/// </summary>
internal static class NoOp
{
    public static async Task<JsonNode?> CallAsync()
    {
        await Task.Yield();
        return null;
    }
}

/// <summary>An agent that does the no-op: what the engine scenarios dispatch.</summary>
internal sealed class NoOpAgent : IAgent
{
    private static readonly AgentResult Done = AgentResult.Ok(null);

    public string Kind => "noop";

    public async ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        await Task.Yield();
        return Done;
    }
}

/// <summary>
/// The chains scenario through the engine's DSL: one parallel step whose branches each run their chain of
/// no-op agent steps one after another, every step journaled as in any run.
/// </summary>
internal sealed class ChainsWorkflow(int chains, int stepsPerChain) : IWorkflowProgram
{
    public string ScriptPath => "bench:chains";

    public string Language => "csharp";

    public string ScriptHash => "bench";

    public Task<JsonNode?> ExecuteAsync(WorkflowScope root, CancellationToken cancellationToken)
    {
        var branches = Enumerable.Range(0, chains)
            .Select(i => new ParallelBranch("chain" + i, async (scope, _, ct) =>
            {
                for (var step = 0; step < stepsPerChain; step++)
                {
                    await scope.RunAgentAsync("noop", null, cancellationToken: ct).ConfigureAwait(false);
                }

                return null;
            }))
            .ToList();
        return root.ParallelAsync("chains", MergePolicy.CollectAll, branches, cancellationToken: cancellationToken);
    }

    public string DescribeFailure(Exception error) => error.Message;
}

/// <summary>A small but complete run (a step, a parallel step of two agent branches, a sequence): what the memory scenario repeats.</summary>
internal sealed class SmallWorkflow : IWorkflowProgram
{
    public string ScriptPath => "bench:small";

    public string Language => "csharp";

    public string ScriptHash => "bench";

    public async Task<JsonNode?> ExecuteAsync(WorkflowScope root, CancellationToken cancellationToken)
    {
        var first = await root.StepAsync("prepare", (_, _) => Task.FromResult<JsonNode?>(new JsonObject { ["n"] = 1 }), cancellationToken).ConfigureAwait(false);
        var both = await root.ParallelAsync(
            "both",
            MergePolicy.AllMustSucceed,
            [
                new ParallelBranch("a", (scope, _, ct) => scope.RunAgentAsync("noop", first?.DeepClone(), cancellationToken: ct)),
                new ParallelBranch("b", (scope, _, ct) => scope.RunAgentAsync("noop", null, cancellationToken: ct)),
            ],
            cancellationToken: cancellationToken).ConfigureAwait(false);
        return await root.SequenceAsync(
            "finish",
            both,
            [new SequenceStage("one", (_, ctx, _) => Task.FromResult<JsonNode?>(new JsonObject { ["done"] = true }))],
            cancellationToken).ConfigureAwait(false);
    }

    public string DescribeFailure(Exception error) => error.Message;
}
