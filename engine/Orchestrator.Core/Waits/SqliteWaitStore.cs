using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Orchestrator.Core.Waits;

/// <summary>
/// Waits and signals in the store's SQLite file (tables <c>waits</c> and <c>signals</c>, journal format 7). Writes are
/// rare — one per wait, decision or signal — so each opens its own connection, as learning does, rather than queueing
/// behind the journal's writer; and a CLI that decides or signals writes here without any run open.
/// </summary>
internal sealed class SqliteWaitStore(string connectionString) : IWaitStore
{
    private const string WaitColumns = "run_id, step_id, kind, name, data, created_at, due_at, decision, closed_at";

    public async ValueTask<WaitRecord> OpenAsync(WaitRecord wait, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var insert = connection.CreateCommand())
        {
            insert.CommandText = """
                INSERT INTO waits (run_id, step_id, kind, name, data, created_at, due_at) VALUES ($run, $step, $kind, $name, $data, $created, $due)
                ON CONFLICT (run_id, step_id) DO NOTHING
                """;
            insert.Parameters.AddWithValue("$run", wait.RunId);
            insert.Parameters.AddWithValue("$step", wait.StepId);
            insert.Parameters.AddWithValue("$kind", wait.Kind);
            insert.Parameters.AddWithValue("$name", wait.Name);
            insert.Parameters.AddWithValue("$data", (object?)wait.Data?.ToJsonString() ?? DBNull.Value);
            insert.Parameters.AddWithValue("$created", wait.CreatedAt.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$due", (object?)wait.DueAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var select = connection.CreateCommand();
        select.CommandText = $"SELECT {WaitColumns} FROM waits WHERE run_id = $run AND step_id = $step";
        select.Parameters.AddWithValue("$run", wait.RunId);
        select.Parameters.AddWithValue("$step", wait.StepId);
        var found = await ReadWaitsAsync(select, cancellationToken).ConfigureAwait(false);
        return found[0];
    }

    public async ValueTask<IReadOnlyList<WaitRecord>> ListAsync(string? runId, bool includeClosed, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {WaitColumns} FROM waits WHERE ($run IS NULL OR run_id = $run) AND ($all = 1 OR closed_at IS NULL) ORDER BY created_at, run_id, step_id";
        command.Parameters.AddWithValue("$run", (object?)runId ?? DBNull.Value);
        command.Parameters.AddWithValue("$all", includeClosed ? 1 : 0);
        return await ReadWaitsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> DecideAsync(string runId, string stepId, JsonObject decision, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE waits SET decision = $decision, decided_at = $at
            WHERE run_id = $run AND step_id = $step AND kind = 'approval' AND decision IS NULL AND closed_at IS NULL
            """;
        command.Parameters.AddWithValue("$decision", decision.ToJsonString());
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$run", runId);
        command.Parameters.AddWithValue("$step", stepId);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask CloseAsync(string runId, string stepId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE waits SET closed_at = $at WHERE run_id = $run AND step_id = $step AND closed_at IS NULL";
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$run", runId);
        command.Parameters.AddWithValue("$step", stepId);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<long> SignalAsync(string runId, string name, JsonNode? data, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO signals (run_id, name, data, sent_at) VALUES ($run, $name, $data, $at) RETURNING id";
        command.Parameters.AddWithValue("$run", runId);
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$data", (object?)data?.ToJsonString() ?? DBNull.Value);
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public async ValueTask<SignalRecord?> ConsumeAsync(string runId, string name, string stepId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

        // BEGIN IMMEDIATE: two waits for the same name (parallel branches) never take the same signal.
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            UPDATE signals SET consumed_by = $step, consumed_at = $at
            WHERE id = (SELECT id FROM signals WHERE run_id = $run AND name = $name AND consumed_by IS NULL ORDER BY id LIMIT 1)
              AND NOT EXISTS (SELECT 1 FROM signals WHERE run_id = $run AND name = $name AND consumed_by = $step);
            SELECT id, data, sent_at FROM signals WHERE run_id = $run AND name = $name AND consumed_by = $step;
            """;
        command.Parameters.AddWithValue("$run", runId);
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$step", stepId);
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
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

    private static async Task<IReadOnlyList<WaitRecord>> ReadWaitsAsync(SqliteCommand command, CancellationToken cancellationToken)
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

    private async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }
}
