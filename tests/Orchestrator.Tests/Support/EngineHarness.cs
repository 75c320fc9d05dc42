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
        : this(TimeProvider.System, null, agents, [])
    {
    }

    public EngineHarness(TimeProvider time, string? reportDirectory, IEnumerable<IAgent> agents, IEnumerable<IRecoveryStrategy> strategies, Orchestrator.Core.Health.AgentHealthBook? health = null)
    {
        var list = agents.ToList();
        Registry = new AgentRegistry(list.Count > 0 ? list : [new EchoAgent(), new FailAgent(), new GateAgent(), new CountingAgent()], strategies);
        Reports = reportDirectory is null ? null : new Orchestrator.Core.Reporting.ReportWriter(reportDirectory);
        Engine = new WorkflowEngine(Journal, Registry, Reports, time, Logger.None, health);
    }

    public Orchestrator.Core.Reporting.ReportWriter? Reports { get; }

    public InMemoryJournal Journal { get; } = new();

    public AgentRegistry Registry { get; }

    public WorkflowEngine Engine { get; }

    public async Task<(RunOutcome Outcome, IReadOnlyList<StepRecord> Steps)> RunCsxAsync(
        string scriptPath, System.Text.Json.Nodes.JsonNode? input = null, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var program = CSharpWorkflow.Compile(scriptPath, Logger.None);
        return await RunAsync(program, input, options, cancellationToken);
    }

    public async Task<(RunOutcome Outcome, IReadOnlyList<StepRecord> Steps)> RunAsync(
        IWorkflowProgram program, System.Text.Json.Nodes.JsonNode? input = null, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        var outcome = await Engine.RunAsync(program, input, cancellationToken, options);
        return (outcome, await StepsAsync(outcome.Run.Id));
    }

    public async Task<(RunOutcome Outcome, IReadOnlyList<StepRecord> Steps)> ResumeCsxAsync(string scriptPath, string runId, bool force = false)
    {
        using var program = CSharpWorkflow.Compile(scriptPath, Logger.None);
        var outcome = await Engine.ResumeAsync(program, runId, force, CancellationToken.None);
        return (outcome, await StepsAsync(runId));
    }

    public async Task<IReadOnlyList<StepRecord>> StepsAsync(string runId) =>
        StepFolding.Fold(await Journal.GetEntriesAsync(runId, CancellationToken.None));
}
