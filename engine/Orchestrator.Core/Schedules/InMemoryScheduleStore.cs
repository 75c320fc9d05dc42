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

    public ValueTask<bool> ClaimAsync(string name, DateTimeOffset? lastSeen, DateTimeOffset occurrence, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_schedules.TryGetValue(name, out var schedule) || schedule.LastOccurrence != lastSeen)
            {
                return ValueTask.FromResult(false);
            }

            _schedules[name] = schedule with { LastOccurrence = occurrence };
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask SetRunAsync(string name, DateTimeOffset occurrence, string runId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_schedules.TryGetValue(name, out var schedule) && schedule.LastOccurrence == occurrence)
            {
                _schedules[name] = schedule with { LastRunId = runId };
            }
        }

        return ValueTask.CompletedTask;
    }
}
