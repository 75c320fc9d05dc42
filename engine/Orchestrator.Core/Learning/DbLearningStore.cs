using System.Text.Json.Nodes;
using System.Data.Common;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Learning;

/// <summary>
/// Learning in the store's database, SQLite or PostgreSQL (tables <c>learning</c>, <c>baselines</c>, <c>recommendations</c>,
/// journal format 3, and <c>learning_runs</c>, format 8): the same SQL on both. Writes are rare — one per finished phase, one per run for baselines — so each
/// opens its own connection rather than queueing behind the journal's writer.
/// </summary>
internal sealed class DbLearningStore(Func<CancellationToken, Task<DbConnection>> open) : ILearningStore
{
    public async ValueTask<IReadOnlyList<LearnedOutcome>> GetOutcomesAsync(string? phase, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT phase, strategy, agent, runs, successes, items, failed_items, total_ms, last_at FROM learning" +
            (phase is null ? "" : " WHERE phase = @phase") + " ORDER BY phase, strategy, agent";
        JournalCommands.Add(command, "@phase", (object?)phase ?? DBNull.Value);
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
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var history = connection.CreateCommand())
        {
            history.Transaction = transaction;
            history.CommandText = """
                INSERT INTO learning_runs (run_id, phase, strategy, agent, succeeded, items, failed_items, duration_ms, cost, at)
                VALUES (@run, @phase, @strategy, @agent, @ok, @items, @failed, @ms, @cost, @at)
                """;
            AddOutcome(history, outcome);
            JournalCommands.Add(history, "@run", outcome.RunId);
            JournalCommands.Add(history, "@cost", outcome.Cost);
            await history.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO learning (phase, strategy, agent, runs, successes, items, failed_items, total_ms, last_at)
            VALUES (@phase, @strategy, @agent, 1, @ok, @items, @failed, @ms, @at)
            ON CONFLICT (phase, strategy, agent) DO UPDATE SET
                runs = learning.runs + 1, successes = learning.successes + @ok, items = learning.items + @items,
                failed_items = learning.failed_items + @failed, total_ms = learning.total_ms + @ms, last_at = @at
            """;
        AddOutcome(command, outcome);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<PhaseOutcome>> GetRecentAsync(string phase, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT run_id, strategy, agent, succeeded, items, failed_items, duration_ms, cost, at FROM learning_runs WHERE phase = @phase ORDER BY id DESC LIMIT @limit";
        JournalCommands.Add(command, "@phase", phase);
        JournalCommands.Add(command, "@limit", limit);
        var outcomes = new List<PhaseOutcome>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            outcomes.Add(new PhaseOutcome(
                phase, reader.GetString(1), reader.GetString(2), reader.GetInt64(3) != 0, reader.GetInt64(4), reader.GetInt64(5), reader.GetDouble(6),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)))
            {
                RunId = reader.GetString(0),
                Cost = reader.GetDouble(7),
            });
        }

        return outcomes;
    }

    private static void AddOutcome(DbCommand command, PhaseOutcome outcome)
    {
        JournalCommands.Add(command, "@phase", outcome.Phase);
        JournalCommands.Add(command, "@strategy", outcome.Strategy);
        JournalCommands.Add(command, "@agent", outcome.Agent);
        JournalCommands.Add(command, "@ok", outcome.Succeeded ? 1 : 0);
        JournalCommands.Add(command, "@items", outcome.Items);
        JournalCommands.Add(command, "@failed", outcome.FailedItems);
        JournalCommands.Add(command, "@ms", outcome.DurationMs);
        JournalCommands.Add(command, "@at", outcome.At.ToUnixTimeMilliseconds());
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
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (metric, baseline) in baselines)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO baselines (metric, count, mean, variance, updated_at) VALUES (@metric, @count, @mean, @variance, @at) " +
                "ON CONFLICT (metric) DO UPDATE SET count = excluded.count, mean = excluded.mean, variance = excluded.variance, updated_at = excluded.updated_at";
            JournalCommands.Add(command, "@metric", metric);
            JournalCommands.Add(command, "@count", baseline.Count);
            JournalCommands.Add(command, "@mean", baseline.Mean);
            JournalCommands.Add(command, "@variance", baseline.Variance);
            JournalCommands.Add(command, "@at", at.ToUnixTimeMilliseconds());
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
            VALUES (@created, @run, @phase, @strategy, @kind, @risk, @summary, @change, @status, @decided)
            RETURNING id
            """;
        JournalCommands.Add(command, "@created", recommendation.CreatedAt.ToUnixTimeMilliseconds());
        JournalCommands.Add(command, "@run", recommendation.RunId);
        JournalCommands.Add(command, "@phase", recommendation.Phase);
        JournalCommands.Add(command, "@strategy", recommendation.Strategy);
        JournalCommands.Add(command, "@kind", recommendation.Kind);
        JournalCommands.Add(command, "@risk", recommendation.Risk.ToString());
        JournalCommands.Add(command, "@summary", recommendation.Summary);
        JournalCommands.Add(command, "@change", recommendation.Change.ToJsonString());
        JournalCommands.Add(command, "@status", recommendation.Status.ToString());
        JournalCommands.Add(command, "@decided", (object?)recommendation.DecidedAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        var id = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
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
        command.CommandText = "UPDATE recommendations SET status = @status, decided_at = @at WHERE id = @id AND status = 'Pending'";
        JournalCommands.Add(command, "@status", decision.ToString());
        JournalCommands.Add(command, "@at", at.ToUnixTimeMilliseconds());
        JournalCommands.Add(command, "@id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    private Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => open(cancellationToken);
}
