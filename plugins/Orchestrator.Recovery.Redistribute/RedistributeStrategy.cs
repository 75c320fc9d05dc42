using Orchestrator.Abstractions;

namespace Orchestrator.Recovery.Redistribute;

/// <summary>
/// The <c>redistribute</c> recovery strategy: the failed task goes to another agent of the same kind (a
/// replica from another plugin) whose circuit breaker is not open. It does not apply when there is none.
/// </summary>
/// <remarks>Options: none.</remarks>
public sealed class RedistributeStrategy : IRecoveryStrategy
{
    public string Name => "redistribute";

    public async ValueTask<AgentResult?> TryRecoverAsync(RecoveryContext context, CancellationToken cancellationToken)
    {
        if (context.Redistribute is null)
        {
            return null;
        }

        var result = await context.Redistribute(context.Task with { Attempt = context.Task.Attempt + 1 }, cancellationToken).ConfigureAwait(false);
        return result switch
        {
            null => AgentResult.Fail($"redistribute: no other healthy agent of kind '{context.AgentKind}'", context.Failure.Output, context.Failure.Severity),
            { Success: true } => result,
            _ => AgentResult.Fail($"redistribute: the other agent failed too: {result.Error}", result.Output, result.Severity),
        };
    }
}
