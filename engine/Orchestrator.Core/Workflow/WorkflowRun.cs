using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Reporting;

namespace Orchestrator.Core.Workflow;

/// <summary>The state one run shares between its scopes: identity, journal, agents, clock.</summary>
internal sealed class WorkflowRun
{
    private long _seq;

    public WorkflowRun(string id, JsonNode? input, IJournal journal, IAgentRegistry agents, IReportWriter? reports, TimeProvider time, CancellationToken cancellation)
    {
        Id = id;
        Input = input;
        Journal = journal;
        Agents = agents;
        Reports = reports;
        Time = time;
        Cancellation = cancellation;
        Root = new WorkflowScope(this, path: null);
    }

    public string Id { get; }

    public JsonNode? Input { get; }

    public IJournal Journal { get; }

    public IAgentRegistry Agents { get; }

    public IReportWriter? Reports { get; }

    public TimeProvider Time { get; }

    public CancellationToken Cancellation { get; }

    public WorkflowScope Root { get; }

    public ValueTask AppendAsync(string stepId, StepEvent kind, string? parentId, string name, string stepKind, string? agent, JsonNode? payload, string? error)
    {
        var entry = new JournalEntry(Id, Interlocked.Increment(ref _seq), stepId, kind, parentId, name, stepKind, agent, 1, payload, error, Time.GetUtcNow());

        // Appends are not cancellable: a step that ran is recorded even when the run is being cancelled.
        return Journal.AppendAsync(entry, CancellationToken.None);
    }
}
