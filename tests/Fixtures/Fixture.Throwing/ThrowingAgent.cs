using Orchestrator.Abstractions;

namespace Fixture.Throwing;

/// <summary>A plugin whose constructor fails: the host must report it and load the others.</summary>
public sealed class ThrowingAgent : IAgent
{
    public ThrowingAgent() => throw new InvalidOperationException("fixture constructor failure");

    public string Kind => "throwing";

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AgentResult.Ok());
}
