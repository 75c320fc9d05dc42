using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace Fixture.Faults;

/// <summary>Fails its first attempt and succeeds after, so that a retry strategy has something to fix.</summary>
public sealed class FlakyAgent : IAgent
{
    public string Kind => "flaky";

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) =>
        ValueTask.FromResult(task.Attempt < 2
            ? AgentResult.Fail("flaky: first attempt always fails")
            : AgentResult.Ok(new JsonObject { ["attempt"] = task.Attempt }));
}
