using System.Collections.Concurrent;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Runs;

namespace Orchestrator.Cli.Host;

/// <summary>The agent steps in flight across the host's runs, per agent, counted from the runs' event streams.</summary>
internal sealed class HostActivity
{
    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.OrdinalIgnoreCase);

    public int InFlight(string agent) => _inFlight.TryGetValue(agent, out var count) ? count : 0;

    public IRunObserver? Observe(RunStart start) => new Observer(this);

    private void Add(string agent, int delta) => _inFlight.AddOrUpdate(agent, delta, (_, count) => count + delta);

    private sealed class Observer(HostActivity host) : IRunObserver
    {
        private readonly Dictionary<string, string> _open = new(StringComparer.Ordinal);

        public void OnStep(in JournalEntry entry)
        {
            if (entry.Agent is not { } agent)
            {
                return;
            }

            if (entry.Event == StepEvent.Started)
            {
                if (_open.TryAdd(entry.StepId, agent))
                {
                    host.Add(agent, 1);
                }
            }
            else if (entry.Event != StepEvent.Compensated && _open.Remove(entry.StepId, out var started))
            {
                host.Add(started, -1);
            }
        }

        public void OnEnd(RunEnd end)
        {
            foreach (var agent in _open.Values)
            {
                host.Add(agent, -1);
            }

            _open.Clear();
        }
    }
}
