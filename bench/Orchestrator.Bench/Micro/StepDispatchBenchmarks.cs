using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;
using Serilog.Core;

namespace Orchestrator.Bench.Micro;

/// <summary>The engine's cost per step with nothing else in it: an agent that completes at once, an in-memory journal.</summary>
[MemoryDiagnoser]
public class StepDispatchBenchmarks
{
    private const int Steps = 100;
    private readonly AgentRegistry _agents = new([new InstantAgent()]);
    private readonly SequentialSteps _program = new(Steps);

    [Benchmark(OperationsPerInvoke = Steps)]
    public async Task<object> AgentStep()
    {
        var engine = new WorkflowEngine(new InMemoryJournal(), _agents, reports: null, TimeProvider.System, Logger.None);
        return await engine.RunAsync(_program, input: null, CancellationToken.None);
    }

    private sealed class InstantAgent : IAgent
    {
        private static readonly AgentResult Done = AgentResult.Ok(null);

        public string Kind => "noop";

        public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) => ValueTask.FromResult(Done);
    }

    private sealed class SequentialSteps(int steps) : IWorkflowProgram
    {
        public string ScriptPath => "bench:sequential";

        public string Language => "csharp";

        public string ScriptHash => "bench";

        public async Task<JsonNode?> ExecuteAsync(WorkflowScope root, CancellationToken cancellationToken)
        {
            for (var i = 0; i < steps; i++)
            {
                await root.RunAgentAsync("noop", null, cancellationToken: cancellationToken);
            }

            return steps;
        }

        public string DescribeFailure(Exception error) => error.Message;
    }
}
