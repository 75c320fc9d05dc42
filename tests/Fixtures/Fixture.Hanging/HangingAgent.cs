using Orchestrator.Abstractions;

namespace Fixture.Hanging;

/// <summary>Blocks its thread for ever, ignoring its token, as a plugin stuck in a blocking call does; touches its input's file first.</summary>
public sealed class HangingAgent : IAgent
{
    public string Kind => "hang";

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        if (task.Input?["touch"]?.GetValue<string>() is { } path)
        {
            File.WriteAllText(path, "");
        }

        Thread.Sleep(Timeout.Infinite);
        return ValueTask.FromResult(AgentResult.Ok(null));
    }
}
