using Orchestrator.Abstractions;

namespace Fixture.Faults;

/// <summary>Runs the failed task once more, as the next attempt; gives up after that.</summary>
public sealed class FixtureRetryStrategy : IRecoveryStrategy
{
    public string Name => "fixture-retry";

    public async ValueTask<AgentResult?> TryRecoverAsync(RecoveryContext context, CancellationToken cancellationToken)
    {
        if (context.Task.Attempt > 1)
        {
            return null;
        }

        var retry = context.Task with { Attempt = context.Task.Attempt + 1 };
        return await context.RunAgent(context.AgentKind, retry, cancellationToken).ConfigureAwait(false);
    }
}
