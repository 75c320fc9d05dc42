namespace Orchestrator.Abstractions;

/// <summary>
/// One link of a recovery chain: given a failed step, try to produce a successful result.
/// Strategies are tried in order until one returns a successful result.
/// </summary>
public interface IRecoveryStrategy
{
    /// <summary>The name scripts use to put this strategy in a chain, e.g. <c>retry</c>.</summary>
    string Name { get; }

    /// <summary>Attempts recovery; returns null when this strategy does not apply.</summary>
    ValueTask<AgentResult?> TryRecoverAsync(RecoveryContext context, CancellationToken cancellationToken);
}
