using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Orchestrator.Core.Learning;

/// <summary>
/// Learning in the store's SQLite file (tables <c>learning</c>, <c>baselines</c>, <c>recommendations</c>, journal format 3).
/// Writes are rare — one per finished phase, one per run for baselines — so each opens its own connection
/// rather than queueing behind the journal's writer.
/// </summary>
internal sealed class SqliteLearningStore(string connectionString) : ILearningStore
{
    public async ValueTask<IReadOnlyList<LearnedOutcome>> GetOutcomesAsync(string? phase, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT phase, strategy, agent, runs, successes, items, failed_items, total_ms, last_at FROM learning" +
            (phase is null ? "" : " WHERE phase = $phase") + " ORDER BY phase, strategy, agent";
        command.Parameters.AddWithValue("$phase", (object?)phase ?? DBNull.Value);
        var outcomes = new List<LearnedOutcome>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            outcomes.Add(new LearnedOutcome(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4),
                reader.GetInt64(5), reader.GetInt64(6), reader.GetDouble(7), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8))));
        }

        return outcomes;
    }

    public async ValueTask RecordOutcomeAsync(PhaseOutcome outcome, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO learning (phase, strategy, agent, runs, successes, items, failed_items, total_ms, last_at)
            VALUES ($phase, $strategy, $agent, 1, $ok, $items, $failed, $ms, $at)
            ON CONFLICT (phase, strategy, agent) DO UPDATE SET
                runs = runs + 1, successes = successes + $ok, items = items + $items,
                failed_items = failed_items + $failed, total_ms = total_ms + $ms, last_at = $at
            """;
        command.Parameters.AddWithValue("$phase", outcome.Phase);
        command.Parameters.AddWithValue("$strategy", outcome.Strategy);
        command.Parameters.AddWithValue("$agent", outcome.Agent);
        command.Parameters.AddWithValue("$ok", outcome.Succeeded ? 1 : 0);
        command.Parameters.AddWithValue("$items", outcome.Items);
        command.Parameters.AddWithValue("$failed", outcome.FailedItems);
        command.Parameters.AddWithValue("$ms", outcome.DurationMs);
        command.Parameters.AddWithValue("$at", outcome.At.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyDictionary<string, Baseline>> GetBaselinesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT metric, count, mean, variance FROM baselines";
        var baselines = new Dictionary<string, Baseline>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            baselines[reader.GetString(0)] = new Baseline(reader.GetInt64(1), reader.GetDouble(2), reader.GetDouble(3));
        }

        return baselines;
    }

    public async ValueTask SaveBaselinesAsync(IReadOnlyDictionary<string, Baseline> baselines, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (metric, baseline) in baselines)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT OR REPLACE INTO baselines (metric, count, mean, variance, updated_at) VALUES ($metric, $count, $mean, $variance, $at)";
            command.Parameters.AddWithValue("$metric", metric);
            command.Parameters.AddWithValue("$count", baseline.Count);
            command.Parameters.AddWithValue("$mean", baseline.Mean);
            command.Parameters.AddWithValue("$variance", baseline.Variance);
            command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<Recommendation> AddRecommendationAsync(Recommendation recommendation, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO recommendations (created_at, run_id, phase, strategy, kind, risk, summary, change, status, decided_at)
            VALUES ($created, $run, $phase, $strategy, $kind, $risk, $summary, $change, $status, $decided)
            RETURNING id
            """;
        command.Parameters.AddWithValue("$created", recommendation.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$run", recommendation.RunId);
        command.Parameters.AddWithValue("$phase", recommendation.Phase);
        command.Parameters.AddWithValue("$strategy", recommendation.Strategy);
        command.Parameters.AddWithValue("$kind", recommendation.Kind);
        command.Parameters.AddWithValue("$risk", recommendation.Risk.ToString());
        command.Parameters.AddWithValue("$summary", recommendation.Summary);
        command.Parameters.AddWithValue("$change", recommendation.Change.ToJsonString());
        command.Parameters.AddWithValue("$status", recommendation.Status.ToString());
        command.Parameters.AddWithValue("$decided", (object?)recommendation.DecidedAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        var id = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        return recommendation with { Id = id };
    }

    public async ValueTask<IReadOnlyList<Recommendation>> ListRecommendationsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, created_at, run_id, phase, strategy, kind, risk, summary, change, status, decided_at FROM recommendations ORDER BY id";
        var list = new List<Recommendation>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new Recommendation
            {
                Id = reader.GetInt64(0),
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                RunId = reader.GetString(2),
                Phase = reader.GetString(3),
                Strategy = reader.GetString(4),
                Kind = reader.GetString(5),
                Risk = Enum.Parse<RecommendationRisk>(reader.GetString(6)),
                Summary = reader.GetString(7),
                Change = JsonNode.Parse(reader.GetString(8))!.AsObject(),
                Status = Enum.Parse<RecommendationStatus>(reader.GetString(9)),
                DecidedAt = reader.IsDBNull(10) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(10)),
            });
        }

        return list;
    }

    public async ValueTask<bool> DecideAsync(long id, RecommendationStatus decision, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE recommendations SET status = $status, decided_at = $at WHERE id = $id AND status = 'Pending'";
        command.Parameters.AddWithValue("$status", decision.ToString());
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }
}
