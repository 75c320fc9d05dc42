using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Orchestrator.Core.Journal;

/// <summary>
/// The durable journal: SQLite in WAL mode. Every write goes through one writer loop that commits
/// whatever has queued up in a single transaction (group commit), so concurrent steps share the cost
/// of a commit while each append still completes only once it is on disk.
/// </summary>
internal sealed class SqliteJournal : IJournal
{
    /// <summary>The journal's format; bump it with a migration in <see cref="JournalSchema"/>.</summary>
    public const int FormatVersion = 1;

    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly Channel<Write> _queue = Channel.CreateUnbounded<Write>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writerLoop;

    private SqliteJournal(string connectionString, SqliteConnection writer)
    {
        _connectionString = connectionString;
        _writer = writer;
        _writerLoop = Task.Run(WriteLoopAsync);
    }

    public string DatabasePath { get; private init; } = "";

    /// <summary>Opens (creating if needed) the journal in <paramref name="storeDirectory"/>.</summary>
    public static SqliteJournal Open(string storeDirectory)
    {
        Directory.CreateDirectory(storeDirectory);
        var path = Path.Combine(storeDirectory, "journal.db");
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();

        var writer = new SqliteConnection(connectionString);
        try
        {
            writer.Open();
            JournalSchema.Ensure(writer, path);
        }
        catch
        {
            writer.Dispose();
            throw;
        }

        return new SqliteJournal(connectionString, writer) { DatabasePath = path };
    }

    public ValueTask StartRunAsync(RunRecord run, CancellationToken cancellationToken) =>
        EnqueueAsync(new Write.StartRun(run), cancellationToken);

    public ValueTask AppendAsync(JournalEntry entry, CancellationToken cancellationToken) =>
        EnqueueAsync(new Write.Append(entry), cancellationToken);

    public ValueTask EndRunAsync(string runId, RunStatus status, JsonNode? result, string? error, DateTimeOffset endedAt, CancellationToken cancellationToken) =>
        EnqueueAsync(new Write.EndRun(runId, status, result, error, endedAt), cancellationToken);

    public ValueTask SetReportAsync(string runId, string reportPath, CancellationToken cancellationToken) =>
        EnqueueAsync(new Write.SetReport(runId, reportPath), cancellationToken);

    public async ValueTask<IReadOnlyList<RunRecord>> ListRunsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT " + RunColumns + " FROM runs ORDER BY started_at, id";
        return await ReadRunsAsync(command, cancellationToken);
    }

    public async ValueTask<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT " + RunColumns + " FROM runs WHERE id = $id";
        command.Parameters.AddWithValue("$id", runId);
        var runs = await ReadRunsAsync(command, cancellationToken);
        return runs.Count == 0 ? null : runs[0];
    }

    public async ValueTask<IReadOnlyList<JournalEntry>> GetEntriesAsync(string runId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT seq, step_id, event, parent_id, name, kind, agent, attempt, payload, error, at FROM journal WHERE run_id = $id ORDER BY seq";
        command.Parameters.AddWithValue("$id", runId);
        var entries = new List<JournalEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new JournalEntry(
                runId,
                reader.GetInt64(0),
                reader.GetString(1),
                Enum.Parse<StepEvent>(reader.GetString(2)),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetString(4),
                reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.GetInt32(7),
                ParseJson(reader, 8),
                reader.IsDBNull(9) ? null : reader.GetString(9),
                FromUnixMs(reader.GetInt64(10))));
        }

        return entries;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writerLoop.ConfigureAwait(false);
        await _writer.DisposeAsync().ConfigureAwait(false);
    }

    private const string RunColumns =
        "id, script, script_hash, language, engine_version, status, input, result, error, started_at, ended_at, report";

    private async ValueTask EnqueueAsync(Write write, CancellationToken cancellationToken)
    {
        if (!_queue.Writer.TryWrite(write))
        {
            throw new ObjectDisposedException(nameof(SqliteJournal), "The journal is closed.");
        }

        // Durability is not given up on cancellation: the write stays queued and lands.
        await write.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Write>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < 4096 && _queue.Reader.TryRead(out var write))
            {
                batch.Add(write);
            }

            try
            {
                using (var transaction = _writer.BeginTransaction())
                {
                    foreach (var write in batch)
                    {
                        Apply(write, transaction);
                    }

                    transaction.Commit();
                }

                foreach (var write in batch)
                {
                    write.Done.TrySetResult();
                }
            }
            catch (Exception ex)
            {
                foreach (var write in batch)
                {
                    write.Done.TrySetException(ex);
                }
            }

            batch.Clear();
        }
    }

    private void Apply(Write write, SqliteTransaction transaction)
    {
        using var command = _writer.CreateCommand();
        command.Transaction = transaction;
        switch (write)
        {
            case Write.Append(var e):
                command.CommandText =
                    "INSERT INTO journal (run_id, seq, step_id, event, parent_id, name, kind, agent, attempt, payload, error, at) " +
                    "VALUES ($run, $seq, $step, $event, $parent, $name, $kind, $agent, $attempt, $payload, $error, $at)";
                command.Parameters.AddWithValue("$run", e.RunId);
                command.Parameters.AddWithValue("$seq", e.Seq);
                command.Parameters.AddWithValue("$step", e.StepId);
                command.Parameters.AddWithValue("$event", e.Event.ToString());
                command.Parameters.AddWithValue("$parent", (object?)e.ParentId ?? DBNull.Value);
                command.Parameters.AddWithValue("$name", e.Name);
                command.Parameters.AddWithValue("$kind", e.Kind);
                command.Parameters.AddWithValue("$agent", (object?)e.Agent ?? DBNull.Value);
                command.Parameters.AddWithValue("$attempt", e.Attempt);
                command.Parameters.AddWithValue("$payload", (object?)e.Payload?.ToJsonString() ?? DBNull.Value);
                command.Parameters.AddWithValue("$error", (object?)e.Error ?? DBNull.Value);
                command.Parameters.AddWithValue("$at", e.At.ToUnixTimeMilliseconds());
                break;
            case Write.StartRun(var r):
                command.CommandText =
                    "INSERT INTO runs (id, script, script_hash, language, engine_version, status, input, started_at) " +
                    "VALUES ($id, $script, $hash, $language, $engine, $status, $input, $started)";
                command.Parameters.AddWithValue("$id", r.Id);
                command.Parameters.AddWithValue("$script", r.Script);
                command.Parameters.AddWithValue("$hash", r.ScriptHash);
                command.Parameters.AddWithValue("$language", r.Language);
                command.Parameters.AddWithValue("$engine", r.EngineVersion);
                command.Parameters.AddWithValue("$status", r.Status.ToString());
                command.Parameters.AddWithValue("$input", (object?)r.Input?.ToJsonString() ?? DBNull.Value);
                command.Parameters.AddWithValue("$started", r.StartedAt.ToUnixTimeMilliseconds());
                break;
            case Write.EndRun(var id, var status, var result, var error, var ended):
                command.CommandText =
                    "UPDATE runs SET status = $status, result = $result, error = $error, ended_at = $ended WHERE id = $id";
                command.Parameters.AddWithValue("$id", id);
                command.Parameters.AddWithValue("$status", status.ToString());
                command.Parameters.AddWithValue("$result", (object?)result?.ToJsonString() ?? DBNull.Value);
                command.Parameters.AddWithValue("$error", (object?)error ?? DBNull.Value);
                command.Parameters.AddWithValue("$ended", ended.ToUnixTimeMilliseconds());
                break;
            case Write.SetReport(var id, var report):
                command.CommandText = "UPDATE runs SET report = $report WHERE id = $id";
                command.Parameters.AddWithValue("$id", id);
                command.Parameters.AddWithValue("$report", report);
                break;
        }

        command.ExecuteNonQuery();
    }

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private static async Task<IReadOnlyList<RunRecord>> ReadRunsAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var runs = new List<RunRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            runs.Add(new RunRecord
            {
                Id = reader.GetString(0),
                Script = reader.GetString(1),
                ScriptHash = reader.GetString(2),
                Language = reader.GetString(3),
                EngineVersion = reader.GetString(4),
                Status = Enum.Parse<RunStatus>(reader.GetString(5)),
                Input = ParseJson(reader, 6),
                Result = ParseJson(reader, 7),
                Error = reader.IsDBNull(8) ? null : reader.GetString(8),
                StartedAt = FromUnixMs(reader.GetInt64(9)),
                EndedAt = reader.IsDBNull(10) ? null : FromUnixMs(reader.GetInt64(10)),
                Report = reader.IsDBNull(11) ? null : reader.GetString(11),
            });
        }

        return runs;
    }

    private static JsonNode? ParseJson(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : JsonNode.Parse(reader.GetString(ordinal));

    private static DateTimeOffset FromUnixMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private abstract record Write
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public sealed record Append(JournalEntry Entry) : Write;

        public sealed record StartRun(RunRecord Run) : Write;

        public sealed record EndRun(string RunId, RunStatus Status, JsonNode? Result, string? Error, DateTimeOffset EndedAt) : Write;

        public sealed record SetReport(string RunId, string Report) : Write;
    }
}
