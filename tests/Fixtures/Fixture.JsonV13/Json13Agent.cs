using Fixture.Json;
using Orchestrator.Abstractions;

namespace Fixture.JsonV13;

/// <summary>Runs with Newtonsoft.Json 13 whatever the host or other plugins use.</summary>
public sealed class Json13Agent : IAgent
{
    public string Kind => "json13";

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) =>
        ValueTask.FromResult(NewtonsoftRoundTrip.Run(task));
}
