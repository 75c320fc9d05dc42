using System.Collections.Concurrent;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Provisioning;

/// <summary>
/// Holds every agent to the concurrency it declares (<see cref="Orchestrator.Abstractions.IAgent.MaxConcurrency"/>).
/// One agent instance serves every run of the host, so its gate is the engine's, not a run's.
/// </summary>
internal sealed class AgentGates
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Waits for a free slot on the agent; a no-op for agents that declare no limit.</summary>
    public async ValueTask<Slot> EnterAsync(AgentProvider provider, CancellationToken cancellationToken)
    {
        var limit = provider.Agent.MaxConcurrency;
        if (limit <= 0)
        {
            return default;
        }

        var gate = _gates.GetOrAdd(provider.Id, static (_, slots) => new SemaphoreSlim(slots, slots), limit);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Slot(gate);
    }

    /// <summary>A held slot; disposing it lets the next call in.</summary>
    public readonly struct Slot(SemaphoreSlim? gate) : IDisposable
    {
        public void Dispose() => gate?.Release();
    }
}
