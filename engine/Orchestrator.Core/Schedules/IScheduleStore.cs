using System.Text.Json.Nodes;

namespace Orchestrator.Core.Schedules;

/// <summary>The cron schedules of a store (table <c>schedules</c>, journal format 7); a running host starts their runs.</summary>
internal interface IScheduleStore
{
    /// <summary>Adds a schedule; false if one of that name exists.</summary>
    ValueTask<bool> AddAsync(Schedule schedule, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<Schedule>> ListAsync(CancellationToken cancellationToken);

    /// <summary>False if there is no schedule of that name.</summary>
    ValueTask<bool> RemoveAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// Claims <paramref name="occurrence"/> for this host: moves the schedule's last occurrence from
    /// <paramref name="lastSeen"/> (as this host read it) to <paramref name="occurrence"/>, in one compare-and-set.
    /// True for the one host that moved it; false if another host did first, or the schedule is gone.
    /// </summary>
    ValueTask<bool> ClaimAsync(string name, DateTimeOffset? lastSeen, DateTimeOffset occurrence, CancellationToken cancellationToken);

    /// <summary>Records the run started for a claimed occurrence; nothing if the schedule has moved past it meanwhile.</summary>
    ValueTask SetRunAsync(string name, DateTimeOffset occurrence, string runId, CancellationToken cancellationToken);
}

/// <summary>A script run on a cron expression (UTC), with its input; <see cref="LastOccurrence"/> is the one last dealt with.</summary>
public sealed record Schedule
{
    public required string Name { get; init; }

    public required string Script { get; init; }

    public required string Cron { get; init; }

    public JsonNode? Input { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? LastOccurrence { get; init; }

    public string? LastRunId { get; init; }
}
