namespace Orchestrator.Core.Schedules;

/// <summary>Schedules that live as long as the process: for the in-memory journal.</summary>
internal sealed class InMemoryScheduleStore : IScheduleStore
{
    private readonly Dictionary<string, Schedule> _schedules = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public ValueTask<bool> AddAsync(Schedule schedule, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_schedules.TryAdd(schedule.Name, schedule));
        }
    }

    public ValueTask<IReadOnlyList<Schedule>> ListAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<Schedule>>([.. _schedules.Values.OrderBy(s => s.Name, StringComparer.Ordinal)]);
        }
    }

    public ValueTask<bool> RemoveAsync(string name, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_schedules.Remove(name));
        }
    }

    public ValueTask MarkAsync(string name, DateTimeOffset occurrence, string? runId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_schedules.TryGetValue(name, out var schedule))
            {
                _schedules[name] = schedule with { LastOccurrence = occurrence, LastRunId = runId };
            }
        }

        return ValueTask.CompletedTask;
    }
}
