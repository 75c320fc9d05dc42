using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;
using Orchestrator.Core.Learning;
using Orchestrator.Core.Secrets;

namespace Orchestrator.Core.Journal.Postgres;

/// <summary>
/// The journal in a PostgreSQL database: the same tables, format, hash chain and behaviour as <see cref="SqliteJournal"/>.
/// One writer connection commits whatever has queued in one transaction (<see cref="GroupCommitQueue"/>), the appends
/// of a batch sent to the server as one round trip; reads take pooled connections of their own.
/// </summary>
internal sealed class PostgresJournal : IStoreJournal
{
    private const string CopySql =
        "COPY journal (run_id, seq, step_id, event, parent_id, name, kind, agent, attempt, payload, error, at, chain) FROM STDIN (FORMAT BINARY)";

    private const string StoreValueSql = "INSERT INTO payload_values (hash, size, json) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

    private const string ReferValueSql = "INSERT INTO run_values (run_id, hash) VALUES ($1, $2) ON CONFLICT DO NOTHING";

    private const string ReadTailSql =
        "SELECT (SELECT chain FROM journal WHERE run_id = $1 ORDER BY seq DESC LIMIT 1), (SELECT ended_at IS NOT NULL FROM runs WHERE id = $1)";

    private const string ReadSql =
        "SELECT seq, step_id, event, parent_id, name, kind, agent, attempt, COALESCE(length(payload), 0), error, at, payload FROM journal WHERE run_id = @id AND seq > @after ORDER BY seq";

    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlConnection _writer;
    private readonly GroupCommitQueue _queue;
    private readonly ActiveRuns _active = new();
    private readonly SecretRegistry _secrets;

    // Where each run's hash chain stands, and the buffer its next entry is hashed in (writer only).
    private readonly ChainTails _tails;
    private readonly JournalChain _chain = new();

    // The parts of the payload being written that are stored once, by hash, and the hashes lately stored (writer only).
    private readonly List<StoredValue> _values = [];
    private readonly HashSet<string> _storedRecently = new(StringComparer.Ordinal);

    // What the batch being built writes, sent before anything else it does (writer only): the journal rows by one binary
    // COPY, far less work for the server than an INSERT each, and the statements (values, final hashes) as one round trip.
    private readonly List<Row> _rows = [];
    private NpgsqlBatch? _pending;
    private JournalFence? _fence;

    private PostgresJournal(NpgsqlDataSource dataSource, NpgsqlConnection writer, SecretRegistry secrets, string location, int? migratedFrom)
    {
        _dataSource = dataSource;
        _writer = writer;
        _secrets = secrets;
        Location = location;
        MigratedFromVersion = migratedFrom;
        _tails = new ChainTails(ReadTail);
        _queue = new GroupCommitQueue(Commit, RolledBack);
        Learning = new DbLearningStore(async ct => await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false));
        Waits = new Waits.DbWaitStore(async ct => await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false), LockSignalsAsync, secrets);
        Schedules = new Schedules.DbScheduleStore(async ct => await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false));
    }

    public ILearningStore Learning { get; }

    public Waits.IWaitStore Waits { get; }

    public Schedules.IScheduleStore Schedules { get; }

    public bool SharedAcrossMachines => true;

    /// <summary>The database, its password masked.</summary>
    public string Location { get; }

    public int? MigratedFromVersion { get; }

    /// <summary>A transaction holding the signals table against other consumers (readers and senders still go on).</summary>
    private static async Task<System.Data.Common.DbTransaction> LockSignalsAsync(System.Data.Common.DbConnection connection, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "LOCK TABLE signals IN SHARE ROW EXCLUSIVE MODE";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return transaction;
    }

    public JournalVerifier OpenVerifier()
    {
        var rows = _dataSource.OpenConnection();
        try
        {
            return new JournalVerifier(rows, _dataSource.OpenConnection());
        }
        catch
        {
            rows.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens (creating or migrating its tables if needed) the store in the database <paramref name="store"/> names: a connection
    /// string or a <c>postgres://</c> URL. An unreachable server, a missing database or refused credentials are a
    /// <see cref="StoreUnavailableException"/> naming the store, its password masked; so is a database without a store
    /// unless <paramref name="create"/>.
    /// </summary>
    public static PostgresJournal Open(string store, SecretRegistry? secrets = null, bool create = true)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = PostgresConnection.Parse(store);
        }
        catch (ArgumentException ex)
        {
            throw new StoreUnavailableException(PostgresConnection.IsPostgres(store) && !store.Contains("://", StringComparison.Ordinal) ? "the --store connection string" : "the --store URL", ex.Message, ex);
        }

        var location = PostgresConnection.Describe(builder);
        var dataSource = NpgsqlDataSource.Create(builder);
        NpgsqlConnection? writer = null;
        try
        {
            writer = dataSource.OpenConnection();
            var migratedFrom = PostgresSchema.Ensure(writer, location, create);
            return new PostgresJournal(dataSource, writer, secrets ?? new SecretRegistry(), location, migratedFrom);
        }
        catch (Exception ex)
        {
            writer?.Dispose();
            dataSource.Dispose();
            throw PostgresConnection.Reason(ex) is { } reason ? new StoreUnavailableException(location, reason, ex) : ex;
        }
    }

    /// <summary>Records the run; unless it says otherwise, as run by this machine and process.</summary>
    public ValueTask StartRunAsync(RunRecord run, CancellationToken cancellationToken)
    {
        // Marked before it is written, so that a prune batched with the insert never takes it for stale.
        _active.Started(run.Id);
        return _queue.EnqueueAsync(
            new JournalWrite.StartRun(run with { Host = run.Host ?? Environment.MachineName, Pid = run.Pid ?? Environment.ProcessId }),
            cancellationToken);
    }

    public ValueTask AppendAsync(JournalEntry entry, CancellationToken cancellationToken) =>
        _queue.EnqueueAsync(new JournalWrite.Append(entry), cancellationToken);

    public async ValueTask EndRunAsync(string runId, RunStatus status, JsonNode? result, string? error, DateTimeOffset endedAt, CancellationToken cancellationToken)
    {
        await _queue.EnqueueAsync(new JournalWrite.EndRun(runId, status, result, error, endedAt), cancellationToken).ConfigureAwait(false);
        _active.Ended(runId);
    }

    public ValueTask ReopenRunAsync(string runId, CancellationToken cancellationToken)
    {
        _active.Started(runId);
        return _queue.EnqueueAsync(new JournalWrite.ReopenRun(runId, Environment.MachineName, Environment.ProcessId), cancellationToken);
    }

    public ValueTask SetReportAsync(string runId, string? reportPath, string? reportError, CancellationToken cancellationToken) =>
        _queue.EnqueueAsync(new JournalWrite.SetReport(runId, reportPath, reportError), cancellationToken);

    /// <summary>Goes through the writer, so it is one transaction ordered with every append.</summary>
    public async ValueTask<IReadOnlyList<string>> PruneAsync(DateTimeOffset? startedBefore, int? keepNewest, CancellationToken cancellationToken)
    {
        RunRetention.Validate(startedBefore, keepNewest);
        var prune = new JournalWrite.Prune(startedBefore, keepNewest);
        await _queue.EnqueueAsync(prune, cancellationToken).ConfigureAwait(false);
        return prune.Pruned;
    }

    public async ValueTask<IReadOnlyList<RunRecord>> ListRunsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await JournalCommands.ListRunsAsync(connection, LookupValue, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<RunRecord>> ListOpenRunsAsync(string script, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await JournalCommands.ListOpenRunsAsync(connection, LookupValue, script, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await JournalCommands.GetRunAsync(connection, LookupValue, runId, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<JournalEntry>> GetEntriesAsync(string runId, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await JournalCommands.GetEntriesAsync(connection, LookupValue, runId, cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<JournalRow> ReadAsync(string runId, long afterSeq, PayloadSelector payloads, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = JournalCommands.Command(connection, null, ReadSql);
        JournalCommands.Add(command, "@id", runId);
        JournalCommands.Add(command, "@after", afterSeq);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return ReadRow(reader, runId, payloads);
        }
    }

    public async ValueTask<JsonNode?> GetPayloadAsync(string runId, long seq, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var query = JournalCommands.PayloadQuery(connection);
        return JournalCommands.ReadPayload(query, LookupValue, runId, seq);
    }

    public async ValueTask DisposeAsync()
    {
        await _queue.CompleteAsync().ConfigureAwait(false);
        _chain.Dispose();
        await _writer.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        _active.Clear();
    }

    /// <summary>The current row of <see cref="ReadSql"/>, with as much of its payload as <paramref name="payloads"/> asks for.</summary>
    private JournalRow ReadRow(DbDataReader reader, string runId, PayloadSelector payloads)
    {
        try
        {
            var entry = JournalCommands.ReadEntry(reader, runId);
            return JournalRow.Read(entry, reader.GetInt32(8), () => reader.GetString(11), payloads, ValueStart, LookupValue);
        }
        catch (Exception ex) when (JournalRowException.IsRowProblem(ex))
        {
            throw JournalRowException.Entry(runId, reader.GetInt64(0), ex);
        }
    }

    /// <summary>A stored value, on a connection of its own: the one reading the journal is busy with its rows.</summary>
    private string LookupValue(string hash)
    {
        using var connection = _dataSource.OpenConnection();
        return JournalCommands.LookupValue(connection, hash);
    }

    private (string Start, long Size) ValueStart(string hash, int count)
    {
        using var connection = _dataSource.OpenConnection();
        return JournalCommands.ValueStart(connection, hash, count);
    }

    /// <summary>
    /// Fences the runs' writes with their owner's lease (a cluster node's journal): from now on a write to a run the fence
    /// does not let through fails alone with <see cref="RunNotHeldException"/>. Set before the first run.
    /// </summary>
    public void FenceWith(JournalFence fence) => _fence = fence;

    private void Commit(List<JournalWrite> batch)
    {
        using var transaction = _writer.BeginTransaction();
        var held = Fenced(batch, transaction);
        foreach (var write in batch)
        {
            if (held is not null && RunOf(write) is { } runId && !held.Contains(runId))
            {
                write.Failure = new RunNotHeldException(runId);
                _tails.Forget(runId);
                continue;
            }

            if (write is JournalWrite.Append(var e))
            {
                AddAppend(e);
                continue;
            }

            // Whatever else the batch does follows the appends queued before it.
            Flush(transaction);
            Apply(write, transaction);
        }

        Flush(transaction);
        transaction.Commit();
    }

    /// <summary>The runs of the batch the fence lets this writer write; null when unfenced.</summary>
    private IReadOnlySet<string>? Fenced(List<JournalWrite> batch, NpgsqlTransaction transaction)
    {
        if (_fence is not { } fence)
        {
            return null;
        }

        var runs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var write in batch)
        {
            if (RunOf(write) is { } runId)
            {
                runs.Add(runId);
            }
        }

        return runs.Count == 0 ? runs : fence(_writer, transaction, runs);
    }

    /// <summary>The run a write changes; null for a new run (nobody else can hold its id yet) and for a prune.</summary>
    private static string? RunOf(JournalWrite write) => write switch
    {
        JournalWrite.Append append => append.Entry.RunId,
        JournalWrite.EndRun end => end.RunId,
        JournalWrite.SetReport report => report.RunId,
        JournalWrite.ReopenRun reopen => reopen.RunId,
        _ => null,
    };

    private void RolledBack(Exception ex)
    {
        // The batch rolled back, values and chain links with it: none may be taken as stored any more.
        _pending?.Dispose();
        _pending = null;
        _rows.Clear();
        _storedRecently.Clear();
        _tails.Clear();
    }

    private void Flush(NpgsqlTransaction transaction)
    {
        if (_rows.Count > 0)
        {
            using (var copy = _writer.BeginBinaryImport(CopySql))
            {
                foreach (var row in _rows)
                {
                    row.WriteTo(copy);
                }

                copy.Complete();
            }

            _rows.Clear();
        }

        if (_pending is null)
        {
            return;
        }

        using var batch = _pending;
        _pending = null;
        batch.Connection = _writer;
        batch.Transaction = transaction;
        batch.ExecuteNonQuery();
    }

    private void Apply(JournalWrite write, NpgsqlTransaction transaction)
    {
        if (write is JournalWrite.Prune prune)
        {
            // Another process's writer may be storing a value the prune finds unreferenced: its reference goes in first
            // (see Encode), and this lock waits for those in flight and holds new ones back until the prune commits.
            using (var lockRefs = new NpgsqlCommand("LOCK TABLE run_values IN SHARE ROW EXCLUSIVE MODE", _writer, transaction))
            {
                lockRefs.ExecuteNonQuery();
            }

            JournalCommands.Prune(_writer, transaction, prune, _tails.Forget, sharedStore: true);

            // A value the pruned runs alone referred to is gone: the next run that holds it stores it again.
            _storedRecently.Clear();
            return;
        }

        var finalHash = _tails.Apply(write);
        using var command = _writer.CreateCommand();
        command.Transaction = transaction;
        JournalCommands.Prepare(command, write, _secrets, (runId, payload) => Encode(runId, payload), finalHash);
        if (write is JournalWrite.EndRun)
        {
            // The result's stored values were queued while the command was prepared.
            Flush(transaction);
        }

        if (command.ExecuteNonQuery() == 0 && write is JournalWrite.ReopenRun reopen)
        {
            // Fails this write alone; the rest of the batch commits.
            write.Failure = JournalWrite.ReopenRun.NoSuchRun(reopen.RunId);
        }
    }

    /// <summary>Queues the entry's insert, hashed into its run's chain from the same redacted texts it stores.</summary>
    private void AddAppend(JournalEntry e)
    {
        var tail = _tails.Of(e.RunId);
        var at = e.At.ToUnixTimeMilliseconds();
        var chain = _chain;
        chain.Begin(tail.Hash, e.Seq, e.Attempt, at);
        var eventName = e.Event.ToString();
        var stepId = _secrets.Redact(e.StepId);
        var parentId = _secrets.RedactOrNull(e.ParentId);
        var name = _secrets.Redact(e.Name);
        var payload = Encode(e.RunId, e.Payload);
        var error = _secrets.RedactOrNull(e.Error);
        chain.Add(eventName);
        chain.Add(stepId);
        chain.Add(parentId);
        chain.Add(name);
        chain.Add(e.Kind);
        chain.Add(e.Agent);
        chain.Add(payload);
        chain.Add(error);
        var hash = new byte[JournalChain.HashSize];
        chain.Hash(hash);
        _rows.Add(new Row(e.RunId, e.Seq, stepId, eventName, parentId, name, e.Kind, e.Agent, e.Attempt, payload, error, at, hash));
        hash.CopyTo(tail.Hash, 0);
        if (tail.Ended)
        {
            // A step that journaled after its run ended (one that ignored cancellation): the run's final hash follows it.
            Queue("UPDATE runs SET final_hash = $2 WHERE id = $1", Text(e.RunId), new NpgsqlParameter<byte[]> { TypedValue = tail.Hash.ToArray() });
        }
    }

    /// <summary>A payload as the journal stores it: redacted, with its large parts stored once in <c>payload_values</c> (see <see cref="PayloadValues"/>).</summary>
    private string? Encode(string runId, JsonNode? payload)
    {
        if (payload is null)
        {
            return null;
        }

        var text = PayloadValues.Encode(payload, _secrets.IsEmpty ? null : _secrets.RedactJson, _values);
        foreach (var value in _values)
        {
            // The reference before the value, so that a prune in another process (which locks run_values) either sees it or
            // finishes first, in which case this insert stores the value again. A value nested in its parents' outputs
            // comes again with each of them: stored the first time only.
            Queue(ReferValueSql, Text(runId), Text(value.Hash));
            if (_storedRecently.Add(value.Hash))
            {
                Queue(StoreValueSql, Text(value.Hash), new NpgsqlParameter<long> { TypedValue = value.Size }, Text(value.Json));
            }
        }

        PayloadValues.Release(_values);
        if (_storedRecently.Count > 4096)
        {
            _storedRecently.Clear();
        }

        return text;
    }

    /// <summary>The run's last row's chain, and whether the run has ended: where a run this writer has not met stands.</summary>
    private (byte[]? Last, bool Ended) ReadTail(string runId)
    {
        using var read = new NpgsqlCommand(ReadTailSql, _writer);
        read.Parameters.Add(Text(runId));
        using var reader = read.ExecuteReader();
        reader.Read();
        return (reader.IsDBNull(0) ? null : reader.GetFieldValue<byte[]>(0), !reader.IsDBNull(1) && reader.GetBoolean(1));
    }

    private void Queue(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        (_pending ??= new NpgsqlBatch()).BatchCommands.Add(command);
    }

    /// <summary>A journal row as the COPY sends it, in the table's column order.</summary>
    private readonly record struct Row(
        string RunId, long Seq, string StepId, string Event, string? ParentId, string Name, string Kind, string? Agent, int Attempt, string? Payload, string? Error, long At, byte[] Chain)
    {
        public void WriteTo(NpgsqlBinaryImporter copy)
        {
            copy.StartRow();
            copy.Write(RunId, NpgsqlDbType.Text);
            copy.Write(Seq, NpgsqlDbType.Bigint);
            copy.Write(StepId, NpgsqlDbType.Text);
            copy.Write(Event, NpgsqlDbType.Text);
            WriteText(copy, ParentId);
            copy.Write(Name, NpgsqlDbType.Text);
            copy.Write(Kind, NpgsqlDbType.Text);
            WriteText(copy, Agent);
            copy.Write(Attempt, NpgsqlDbType.Integer);
            WriteText(copy, Payload);
            WriteText(copy, Error);
            copy.Write(At, NpgsqlDbType.Bigint);
            copy.Write(Chain, NpgsqlDbType.Bytea);
        }

        private static void WriteText(NpgsqlBinaryImporter copy, string? text)
        {
            if (text is null)
            {
                copy.WriteNull();
            }
            else
            {
                copy.Write(text, NpgsqlDbType.Text);
            }
        }
    }

    private static NpgsqlParameter Text(string? value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value };
}

/// <summary>The store's database cannot be used: the server cannot be reached, the database does not exist, the credentials are refused.</summary>
internal sealed class StoreUnavailableException(string store, string reason, Exception? innerException = null)
    : Exception($"cannot open the store '{store}': {reason}", innerException);
