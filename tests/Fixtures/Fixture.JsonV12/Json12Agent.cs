using Fixture.Json;
using Orchestrator.Abstractions;

namespace Fixture.JsonV12;

/// <summary>Runs with Newtonsoft.Json 12 whatever the host or other plugins use.</summary>
public sealed class Json12Agent : IAgent
{
    public string Kind => "json12";

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) =>
        ValueTask.FromResult(NewtonsoftRoundTrip.Run(task));
}
