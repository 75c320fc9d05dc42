using System.Data.Common;
using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Schedules;

/// <summary>Schedules in the store's database, SQLite or PostgreSQL (table <c>schedules</c>); rare writes, each on its own connection, as waits do.</summary>
internal sealed class DbScheduleStore(Func<CancellationToken, Task<DbConnection>> open) : IScheduleStore
{
    public async ValueTask<bool> AddAsync(Schedule schedule, CancellationToken cancellationToken)
    {
        await using var connection = await open(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO schedules (name, script, cron, input, created_at) VALUES (@name, @script, @cron, @input, @created)
            ON CONFLICT (name) DO NOTHING
            """;
        JournalCommands.Add(command, "@name", schedule.Name);
        JournalCommands.Add(command, "@script", schedule.Script);
        JournalCommands.Add(command, "@cron", schedule.Cron);
        JournalCommands.Add(command, "@input", (object?)schedule.Input?.ToJsonString() ?? DBNull.Value);
        JournalCommands.Add(command, "@created", schedule.CreatedAt.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask<IReadOnlyList<Schedule>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await open(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, script, cron, input, created_at, last_occurrence, last_run_id FROM schedules ORDER BY name";
        var schedules = new List<Schedule>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            schedules.Add(new Schedule
            {
                Name = reader.GetString(0),
                Script = reader.GetString(1),
                Cron = reader.GetString(2),
                Input = reader.IsDBNull(3) ? null : JsonNode.Parse(reader.GetString(3)),
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                LastOccurrence = reader.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                LastRunId = reader.IsDBNull(6) ? null : reader.GetString(6),
            });
        }

        return schedules;
    }

    public async ValueTask<bool> RemoveAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await open(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM schedules WHERE name = @name";
        JournalCommands.Add(command, "@name", name);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask<bool> ClaimAsync(string name, DateTimeOffset? lastSeen, DateTimeOffset occurrence, CancellationToken cancellationToken)
    {
        await using var connection = await open(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();

        // Two texts: a null-safe comparison is IS in SQLite and IS NOT DISTINCT FROM in PostgreSQL (in SQLite from 3.39 only).
        command.CommandText = lastSeen is null
            ? "UPDATE schedules SET last_occurrence = @at WHERE name = @name AND last_occurrence IS NULL"
            : "UPDATE schedules SET last_occurrence = @at WHERE name = @name AND last_occurrence = @seen";
        JournalCommands.Add(command, "@at", occurrence.ToUnixTimeMilliseconds());
        JournalCommands.Add(command, "@name", name);
        if (lastSeen is { } seen)
        {
            JournalCommands.Add(command, "@seen", seen.ToUnixTimeMilliseconds());
        }

        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask SetRunAsync(string name, DateTimeOffset occurrence, string runId, CancellationToken cancellationToken)
    {
        await using var connection = await open(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE schedules SET last_run_id = @run WHERE name = @name AND last_occurrence = @at";
        JournalCommands.Add(command, "@run", runId);
        JournalCommands.Add(command, "@name", name);
        JournalCommands.Add(command, "@at", occurrence.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
