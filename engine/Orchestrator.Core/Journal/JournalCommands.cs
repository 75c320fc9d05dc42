using System.Data.Common;
using System.Text.Json.Nodes;
using Orchestrator.Core.Secrets;

namespace Orchestrator.Core.Journal;

/// <summary>
/// The journal's SQL that SQLite and PostgreSQL share (ADO.NET, <c>@name</c> parameters, the same tables and columns):
/// the run records' writes and the reads of runs, entries and stored values. What differs — the schema, the hot append,
/// the chain's tail — stays with each store.
/// </summary>
/// <remarks>
/// A read is given <c>lookup</c>, how to fetch a stored value by its hash: SQLite reads it on the connection it is reading
/// from, PostgreSQL (one open reader per connection) on another.
/// </remarks>
internal static class JournalCommands
{
    public const string RunColumns =
        "id, script, script_hash, language, engine_version, status, input, result, error, started_at, ended_at, report, host, pid, report_error, final_hash";

    private const string EntryColumns = "seq, step_id, event, parent_id, name, kind, agent, attempt, payload, error, at";

    /// <summary>Sets <paramref name="command"/> to the write (any but an append or a prune); the caller runs it.</summary>
    public static void Prepare(DbCommand command, JournalWrite write, SecretRegistry secrets, Func<string, JsonNode?, string?> encode, byte[]? finalHash)
    {
        switch (write)
        {
            case JournalWrite.StartRun(var r):
                command.CommandText =
                    "INSERT INTO runs (id, script, script_hash, language, engine_version, status, input, started_at, host, pid) " +
                    "VALUES (@id, @script, @hash, @language, @engine, @status, @input, @started, @host, @pid)";
                Add(command, "@id", r.Id);
                Add(command, "@script", r.Script);
                Add(command, "@hash", r.ScriptHash);
                Add(command, "@language", r.Language);
                Add(command, "@engine", r.EngineVersion);
                Add(command, "@status", r.Status.ToString());
                Add(command, "@input", secrets.RedactJsonOrNull(r.Input?.ToJsonString()));
                Add(command, "@started", r.StartedAt.ToUnixTimeMilliseconds());
                Add(command, "@host", r.Host);
                Add(command, "@pid", r.Pid);
                break;
            case JournalWrite.EndRun(var id, var status, var result, var error, var ended):
                command.CommandText =
                    "UPDATE runs SET status = @status, result = @result, error = @error, ended_at = @ended, final_hash = @final WHERE id = @id";
                Add(command, "@id", id);
                Add(command, "@status", status.ToString());
                Add(command, "@result", encode(id, result));
                Add(command, "@error", secrets.RedactOrNull(error));
                Add(command, "@ended", ended.ToUnixTimeMilliseconds());
                Add(command, "@final", finalHash);
                break;
            case JournalWrite.SetReport(var id, var report, var reportError):
                command.CommandText = "UPDATE runs SET report = @report, report_error = @error WHERE id = @id";
                Add(command, "@id", id);
                Add(command, "@report", report);
                Add(command, "@error", secrets.RedactOrNull(reportError));
                break;
            case JournalWrite.ReopenRun(var id, var host, var pid):
                command.CommandText =
                    "UPDATE runs SET status = @status, ended_at = NULL, error = NULL, result = NULL, report_error = NULL, final_hash = NULL, host = @host, pid = @pid WHERE id = @id";
                Add(command, "@id", id);
                Add(command, "@status", nameof(RunStatus.Running));
                Add(command, "@host", host);
                Add(command, "@pid", pid);
                break;
            default:
                throw new ArgumentException($"{write.GetType().Name} is not a run record write", nameof(write));
        }
    }

    /// <summary>Deletes the runs the prune selects, their rows and what they alone referred to, on the writer's transaction.</summary>
    public static void Prune(DbConnection connection, DbTransaction transaction, JournalWrite.Prune prune, Action<string> forget, bool sharedStore)
    {
        var runs = new List<RunRecord>();
        using (var select = Command(connection, transaction, "SELECT " + RunColumns + " FROM runs"))
        {
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                runs.Add(ReadRun(reader));
            }
        }

        var pruned = RunRetention.Select(runs, prune.StartedBefore, prune.KeepNewest, sharedStore);
        foreach (var run in pruned)
        {
            foreach (var table in (ReadOnlySpan<string>)["waits WHERE run_id", "signals WHERE run_id", "journal WHERE run_id", "run_values WHERE run_id", "runs WHERE id"])
            {
                using var delete = Command(connection, transaction, $"DELETE FROM {table} = @id");
                Add(delete, "@id", run.Id);
                delete.ExecuteNonQuery();
            }

            forget(run.Id);
        }

        if (pruned.Count > 0)
        {
            // Values are shared between runs: only those no remaining run refers to go.
            using var orphans = Command(connection, transaction, "DELETE FROM payload_values WHERE hash NOT IN (SELECT hash FROM run_values)");
            orphans.ExecuteNonQuery();
        }

        prune.Pruned = pruned.Select(r => r.Id).ToList();
    }

    public static Task<IReadOnlyList<RunRecord>> ListRunsAsync(DbConnection connection, Func<string, string> lookup, CancellationToken cancellationToken) =>
        ReadRunsAsync(Command(connection, null, "SELECT " + RunColumns + " FROM runs ORDER BY started_at, id"), lookup, cancellationToken);

    /// <summary>The runs of <paramref name="script"/> that are recorded as running or cancelled, oldest first: what a new run of it points at.</summary>
    public static Task<IReadOnlyList<RunRecord>> ListOpenRunsAsync(DbConnection connection, Func<string, string> lookup, string script, CancellationToken cancellationToken)
    {
        var command = Command(connection, null, "SELECT " + RunColumns + " FROM runs WHERE script = @script AND status IN (@running, @cancelled) ORDER BY started_at, id");
        Add(command, "@script", script);
        Add(command, "@running", nameof(RunStatus.Running));
        Add(command, "@cancelled", nameof(RunStatus.Cancelled));
        return ReadRunsAsync(command, lookup, cancellationToken);
    }

    public static async Task<RunRecord?> GetRunAsync(DbConnection connection, Func<string, string> lookup, string runId, CancellationToken cancellationToken)
    {
        var command = Command(connection, null, "SELECT " + RunColumns + " FROM runs WHERE id = @id");
        Add(command, "@id", runId);
        var runs = await ReadRunsAsync(command, lookup, cancellationToken).ConfigureAwait(false);
        return runs.Count == 0 ? null : runs[0];
    }

    public static async Task<IReadOnlyList<JournalEntry>> GetEntriesAsync(DbConnection connection, Func<string, string> lookup, string runId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null, "SELECT " + EntryColumns + " FROM journal WHERE run_id = @id ORDER BY seq");
        Add(command, "@id", runId);
        var entries = new List<JournalEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                entries.Add(ReadEntry(reader, runId) with { Payload = Decode(reader, 8, lookup) });
            }
            catch (Exception ex) when (JournalRowException.IsRowProblem(ex))
            {
                throw JournalRowException.Entry(runId, reader.GetInt64(0), ex);
            }
        }

        return entries;
    }

    /// <summary>A row of <see cref="EntryColumns"/> without its payload (column 8, which a reader may take as stored or only measure).</summary>
    public static JournalEntry ReadEntry(DbDataReader reader, string runId) => new(
        runId,
        reader.GetInt64(0),
        reader.GetString(1),
        Enum.Parse<StepEvent>(reader.GetString(2)),
        reader.IsDBNull(3) ? null : reader.GetString(3),
        reader.GetString(4),
        reader.GetString(5),
        reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.GetInt32(7),
        null,
        reader.IsDBNull(9) ? null : reader.GetString(9),
        FromUnixMs(reader.GetInt64(10)));

    /// <summary>The payload of one journal row, or null when there is no such row.</summary>
    public static DbCommand PayloadQuery(DbConnection connection) => Command(connection, null, "SELECT payload FROM journal WHERE run_id = @id AND seq = @seq");

    public static JsonNode? ReadPayload(DbCommand query, Func<string, string> lookup, string runId, long seq)
    {
        query.Parameters.Clear();
        Add(query, "@id", runId);
        Add(query, "@seq", seq);
        using var reader = query.ExecuteReader();
        try
        {
            return reader.Read() ? Decode(reader, 0, lookup) : null;
        }
        catch (Exception ex) when (JournalRowException.IsRowProblem(ex))
        {
            throw JournalRowException.Entry(runId, seq, ex);
        }
    }

    /// <summary>The first <paramref name="count"/> characters of a stored value's JSON, and the length of all of it expanded.</summary>
    public static (string Start, long Size) ValueStart(DbConnection connection, string hash, int count)
    {
        using var command = Command(connection, null, "SELECT substr(json, 1, @count), size FROM payload_values WHERE hash = @hash");
        Add(command, "@hash", hash);
        Add(command, "@count", count);
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? (reader.GetString(0), reader.GetInt64(1))
            : throw MissingValue(hash);
    }

    /// <summary>A stored value's JSON; a row that refers to a value the store lacks is damage, not data.</summary>
    public static string LookupValue(DbConnection connection, string hash)
    {
        using var command = Command(connection, null, "SELECT json FROM payload_values WHERE hash = @hash");
        Add(command, "@hash", hash);
        return command.ExecuteScalar() as string ?? throw MissingValue(hash);
    }

    /// <summary>One row of <see cref="RunColumns"/>; the result's stored values are fetched with <paramref name="lookup"/>, or left as markers without one.</summary>
    public static RunRecord ReadRun(DbDataReader reader, Func<string, string>? lookup = null) => new()
    {
        Id = reader.GetString(0),
        Script = reader.GetString(1),
        ScriptHash = reader.GetString(2),
        Language = reader.GetString(3),
        EngineVersion = reader.GetString(4),
        Status = Enum.Parse<RunStatus>(reader.GetString(5)),
        Input = reader.IsDBNull(6) ? null : JsonNode.Parse(reader.GetString(6)),
        Result = lookup is null ? (reader.IsDBNull(7) ? null : JsonNode.Parse(reader.GetString(7))) : Decode(reader, 7, lookup),
        Error = reader.IsDBNull(8) ? null : reader.GetString(8),
        StartedAt = FromUnixMs(reader.GetInt64(9)),
        EndedAt = reader.IsDBNull(10) ? null : FromUnixMs(reader.GetInt64(10)),
        Report = reader.IsDBNull(11) ? null : reader.GetString(11),
        Host = reader.IsDBNull(12) ? null : reader.GetString(12),
        Pid = reader.IsDBNull(13) ? null : reader.GetInt32(13),
        ReportError = reader.IsDBNull(14) ? null : reader.GetString(14),
        FinalHash = reader.IsDBNull(15) ? null : Convert.ToHexStringLower(reader.GetFieldValue<byte[]>(15)),
    };

    public static DateTimeOffset FromUnixMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    public static InvalidDataException MissingValue(string hash) => new($"the journal refers to a stored value ({hash}) that is not in the store");

    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    public static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    private static async Task<IReadOnlyList<RunRecord>> ReadRunsAsync(DbCommand command, Func<string, string> lookup, CancellationToken cancellationToken)
    {
        await using var owned = command;
        var runs = new List<RunRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                runs.Add(ReadRun(reader, lookup));
            }
            catch (Exception ex) when (JournalRowException.IsRowProblem(ex))
            {
                throw JournalRowException.Run(reader.IsDBNull(0) ? "?" : reader.GetString(0), ex);
            }
        }

        return runs;
    }

    private static JsonNode? Decode(DbDataReader reader, int ordinal, Func<string, string> lookup) =>
        reader.IsDBNull(ordinal) ? null : PayloadValues.Decode(reader.GetString(ordinal), lookup);
}
