using Orchestrator.Abstractions;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CSharp;
using Serilog.Core;

namespace Orchestrator.Tests.Support;

/// <summary>An engine over an in-memory journal and in-test agents, for running scripts without the CLI.</summary>
internal sealed class EngineHarness
{
    public EngineHarness(params IAgent[] agents)
    {
        Registry = new AgentRegistry(agents.Length > 0 ? agents : [new EchoAgent(), new FailAgent(), new GateAgent(), new CountingAgent()]);
        Engine = new WorkflowEngine(Journal, Registry, reports: null, TimeProvider.System, Logger.None);
    }

    public InMemoryJournal Journal { get; } = new();

    public AgentRegistry Registry { get; }

    public WorkflowEngine Engine { get; }

    public async Task<(RunOutcome Outcome, IReadOnlyList<StepRecord> Steps)> RunCsxAsync(string scriptPath, System.Text.Json.Nodes.JsonNode? input = null)
    {
        using var program = CSharpWorkflow.Compile(scriptPath, Logger.None);
        return await RunAsync(program, input);
    }

    public async Task<(RunOutcome Outcome, IReadOnlyList<StepRecord> Steps)> RunAsync(IWorkflowProgram program, System.Text.Json.Nodes.JsonNode? input = null)
    {
        var outcome = await Engine.RunAsync(program, input, CancellationToken.None);
        var steps = StepFolding.Fold(await Journal.GetEntriesAsync(outcome.Run.Id, CancellationToken.None));
        return (outcome, steps);
    }
}
