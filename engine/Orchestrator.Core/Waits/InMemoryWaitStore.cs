using System.Text.Json.Nodes;

namespace Orchestrator.Core.Waits;

/// <summary>Waits and signals that live as long as the process: for the in-memory journal.</summary>
internal sealed class InMemoryWaitStore : IWaitStore
{
    private readonly Dictionary<(string Run, string Step), WaitRecord> _waits = [];
    private readonly List<SignalRecord> _signals = [];
    private readonly Lock _gate = new();

    public ValueTask<WaitRecord> OpenAsync(WaitRecord wait, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_waits.TryGetValue((wait.RunId, wait.StepId), out var stored) ? stored : _waits[(wait.RunId, wait.StepId)] = wait);
        }
    }

    public ValueTask<IReadOnlyList<WaitRecord>> ListAsync(string? runId, bool includeClosed, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<WaitRecord>>([.. _waits.Values
                .Where(w => (runId is null || w.RunId == runId) && (includeClosed || w.ClosedAt is null))
                .OrderBy(w => w.CreatedAt).ThenBy(w => w.RunId, StringComparer.Ordinal).ThenBy(w => w.StepId, StringComparer.Ordinal)]);
        }
    }

    public ValueTask<bool> DecideAsync(string runId, string stepId, JsonObject decision, DateTimeOffset at, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_waits.TryGetValue((runId, stepId), out var wait) || wait.Kind != WaitKinds.Approval || wait.Decision is not null || wait.ClosedAt is not null)
            {
                return ValueTask.FromResult(false);
            }

            _waits[(runId, stepId)] = wait with { Decision = (JsonObject)decision.DeepClone() };
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask CloseAsync(string runId, string stepId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_waits.TryGetValue((runId, stepId), out var wait) && wait.ClosedAt is null)
            {
                _waits[(runId, stepId)] = wait with { ClosedAt = at };
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<long> SignalAsync(string runId, string name, JsonNode? data, DateTimeOffset at, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var id = _signals.Count + 1L;
            _signals.Add(new SignalRecord(id, runId, name, data?.DeepClone(), at, null));
            return ValueTask.FromResult(id);
        }
    }

    public ValueTask<SignalRecord?> ConsumeAsync(string runId, string name, string stepId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var index = _signals.FindIndex(s => s.RunId == runId && s.Name == name && s.ConsumedBy == stepId);
            if (index < 0)
            {
                index = _signals.FindIndex(s => s.RunId == runId && s.Name == name && s.ConsumedBy is null);
                if (index < 0)
                {
                    return ValueTask.FromResult<SignalRecord?>(null);
                }

                _signals[index] = _signals[index] with { ConsumedBy = stepId };
            }

            return ValueTask.FromResult<SignalRecord?>(_signals[index] with { Data = _signals[index].Data?.DeepClone() });
        }
    }
}
