using System.Data.Common;
using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Waits;

/// <summary>
/// Waits and signals in the store's database, SQLite or PostgreSQL (tables <c>waits</c> and <c>signals</c>, journal
/// format 7): the same SQL on both. Writes are rare — one per wait, decision or signal — so each opens its own
/// connection, as learning does, rather than queueing behind the journal's writer; and a CLI that decides or signals
/// writes here without any run open. <paramref name="beginExclusive"/> starts a transaction that no other consumer of
/// signals runs beside (SQLite: <c>BEGIN IMMEDIATE</c>; PostgreSQL: a lock on the table), so that two waits for the
/// same name never take the same signal. What is asked, decided or signalled is stored with the run's secrets masked,
/// as the journal stores payloads.
/// </summary>
internal sealed class DbWaitStore(Func<CancellationToken, Task<DbConnection>> open, Func<DbConnection, CancellationToken, Task<DbTransaction>> beginExclusive, Secrets.SecretRegistry secrets) : IWaitStore
{
    private const string WaitColumns = "run_id, step_id, kind, name, data, created_at, due_at, decision, closed_at";

    public async ValueTask<WaitRecord> OpenAsync(WaitRecord wait, CancellationToken cancellationToken)
    {
        await using var connection = await open(cancellationToken).ConfigureAwait(false);
        await using (var insert = connection.CreateCommand())
        {
            insert.CommandText = """
                INSERT INTO waits (run_id, step_id, kind, name, data, created_at, due_at) VALUES (@run, @step, @kind, @name, @data, @created, @due)
                ON CONFLICT (run_id, step_id) DO NOTHING
                """;
            JournalCommands.Add(insert, "@run", wait.RunId);
            JournalCommands.Add(insert, "@step", wait.StepId);
            JournalCommands.Add(insert, "@kind", wait.Kind);
            JournalCommands.Add(insert, "@name", wait.Name);
            JournalCommands.Add(insert, "@data", (object?)secrets.RedactJsonOrNull(wait.Data?.ToJsonString()) ?? DBNull.Value);
            JournalCommands.Add(insert, "@created", wait.CreatedAt.ToUnixTimeMilliseconds());
            JournalCommands.Add(insert, "@due", (object?)wait.DueAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var select = connection.CreateCommand();
        select.CommandText = $"SELECT {WaitColumns} FROM waits WHERE run_id = @run AND step_id = @step";
        JournalCommands.Add(select, "@run", wait.RunId);
        JournalCommands.Add(select, "@step", wait.StepId);
        var found = await ReadWaitsAsync(select, cancellationToken).ConfigureAwait(false);
        return found[0];
    }

    public async ValueTask<IReadOnlyList<WaitRecord>> ListAsync(string? runId, bool includeClosed, CancellationToken cancellationToken)
    {
        await using var connection = await open(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        // Conditions, not NULL tests of parameters: PostgreSQL cannot type a parameter that is only ever compared with NULL.
        var conditions = new List<string>();
        if (runId is not null)
        {
            conditions.Add("run_id = @run");
            JournalCommands.Add(command, "@run", runId);
        }

        if (!includeClosed)
        {
            conditions.Add("closed_at IS NULL");
        }

        command.CommandText = $"SELECT {WaitColumns} FROM waits{(conditions.Count == 0 ? "" : " WHERE " + string.Join(" AND ", conditions))} ORDER BY created_at, run_id, step_id";
        return await ReadWaitsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> DecideAsync(string runId, string stepId, JsonObject decision, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await open(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE waits SET decision = @decision, decided_at = @at
            WHERE run_id = @run AND step_id = @step AND kind = 'approval' AND decision IS NULL AND closed_at IS NULL
            """;
        JournalCommands.Add(command, "@decision", secrets.RedactJson(decision.ToJsonString()));
        JournalCommands.Add(command, "@at", at.ToUnixTimeMilliseconds());
        JournalCommands.Add(command, "@run", runId);
        JournalCommands.Add(command, "@step", stepId);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask CloseAsync(string runId, string stepId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await open(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE waits SET closed_at = @at WHERE run_id = @run AND step_id = @step AND closed_at IS NULL";
        JournalCommands.Add(command, "@at", at.ToUnixTimeMilliseconds());
        JournalCommands.Add(command, "@run", runId);
        JournalCommands.Add(command, "@step", stepId);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<long> SignalAsync(string runId, string name, JsonNode? data, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await open(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO signals (run_id, name, data, sent_at) VALUES (@run, @name, @data, @at) RETURNING id";
        JournalCommands.Add(command, "@run", runId);
        JournalCommands.Add(command, "@name", name);
        JournalCommands.Add(command, "@data", (object?)secrets.RedactJsonOrNull(data?.ToJsonString()) ?? DBNull.Value);
        JournalCommands.Add(command, "@at", at.ToUnixTimeMilliseconds());
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public async ValueTask<SignalRecord?> ConsumeAsync(string runId, string name, string stepId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await open(cancellationToken).ConfigureAwait(false);

        // Exclusive: two waits for the same name (parallel branches) never take the same signal.
        await using var transaction = await beginExclusive(connection, cancellationToken).ConfigureAwait(false);
        await using (var take = connection.CreateCommand())
        {
            take.Transaction = transaction;
            take.CommandText = """
                UPDATE signals SET consumed_by = @step, consumed_at = @at
                WHERE id = (SELECT id FROM signals WHERE run_id = @run AND name = @name AND consumed_by IS NULL ORDER BY id LIMIT 1)
                  AND NOT EXISTS (SELECT 1 FROM signals WHERE run_id = @run AND name = @name AND consumed_by = @step)
                """;
            JournalCommands.Add(take, "@run", runId);
            JournalCommands.Add(take, "@name", name);
            JournalCommands.Add(take, "@step", stepId);
            JournalCommands.Add(take, "@at", at.ToUnixTimeMilliseconds());
            await take.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT id, data, sent_at FROM signals WHERE run_id = @run AND name = @name AND consumed_by = @step";
        JournalCommands.Add(command, "@run", runId);
        JournalCommands.Add(command, "@name", name);
        JournalCommands.Add(command, "@step", stepId);
        SignalRecord? taken = null;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                taken = new SignalRecord(
                    reader.GetInt64(0), runId, name, reader.IsDBNull(1) ? null : JsonNode.Parse(reader.GetString(1)),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), stepId);
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return taken;
    }

    private static async Task<IReadOnlyList<WaitRecord>> ReadWaitsAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var waits = new List<WaitRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            waits.Add(new WaitRecord
            {
                RunId = reader.GetString(0),
                StepId = reader.GetString(1),
                Kind = reader.GetString(2),
                Name = reader.GetString(3),
                Data = reader.IsDBNull(4) ? null : JsonNode.Parse(reader.GetString(4)),
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                DueAt = reader.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
                Decision = reader.IsDBNull(7) ? null : JsonNode.Parse(reader.GetString(7))?.AsObject(),
                ClosedAt = reader.IsDBNull(8) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)),
            });
        }

        return waits;
    }
}
