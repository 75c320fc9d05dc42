using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Provisioning;

/// <summary>
/// Holds every agent to the concurrency it declares (<see cref="Orchestrator.Abstractions.IAgent.MaxConcurrency"/>).
/// One agent instance serves every run of the host, so its gate is the engine's, not a run's.
/// </summary>
internal sealed class AgentGates
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, StrongBox<int>> _inFlight = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The calls the agent is making now, over every run the engine serves (the system state shows them).</summary>
    public int InFlight(string agentId) => _inFlight.TryGetValue(agentId, out var count) ? Volatile.Read(ref count.Value) : 0;

    /// <summary>Waits for a free slot on the agent (at once for agents that declare no limit) and counts the call in flight.</summary>
    public async ValueTask<Slot> EnterAsync(AgentProvider provider, CancellationToken cancellationToken)
    {
        var limit = provider.Agent.MaxConcurrency;
        SemaphoreSlim? gate = null;
        if (limit > 0)
        {
            gate = _gates.GetOrAdd(provider.Id, static (_, slots) => new SemaphoreSlim(slots, slots), limit);
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        var count = _inFlight.GetOrAdd(provider.Id, static _ => new StrongBox<int>());
        Interlocked.Increment(ref count.Value);
        return new Slot(gate, count);
    }

    /// <summary>A held slot; disposing it ends the call and lets the next one in.</summary>
    public readonly struct Slot(SemaphoreSlim? gate, StrongBox<int>? count) : IDisposable
    {
        public void Dispose()
        {
            if (count is not null)
            {
                Interlocked.Decrement(ref count.Value);
            }

            gate?.Release();
        }
    }
}
