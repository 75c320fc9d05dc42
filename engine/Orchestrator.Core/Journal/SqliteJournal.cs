using System.Data.Common;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Core.Learning;
using Orchestrator.Core.Secrets;
using SQLitePCL;

namespace Orchestrator.Core.Journal;

/// <summary>
/// The durable journal: SQLite in WAL mode. Every write goes through one writer loop that commits
/// whatever has queued up in a single transaction (group commit), so concurrent steps share the cost
/// of a commit while each append still completes only once it is on disk.
/// </summary>
internal sealed class SqliteJournal : IStoreJournal
{
    /// <summary>The journal's format; bump it with a migration in <see cref="JournalSchema"/>.</summary>
    public const int FormatVersion = 8;

    private static readonly string[] EventNames = Enum.GetNames<StepEvent>();

    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly GroupCommitQueue _queue;
    private readonly ActiveRuns _active = new();
    private readonly SecretRegistry _secrets;

    // The one statement every step runs twice: prepared once on the writer's connection, rebound per event (writer loop only).
    // Bound through SQLite's own API (the connection's handle), since SqliteCommand's per-execution work cost more than the insert.
    private sqlite3_stmt? _append;
    private sqlite3_stmt? _storeValue;
    private sqlite3_stmt? _referValue;
    private sqlite3_stmt? _readTail;
    private sqlite3_stmt? _setFinalHash;

    // Where each run's hash chain stands, and the buffer its next entry is hashed in (writer loop only).
    private readonly ChainTails _tails;
    private readonly JournalChain _chain = new();

    private readonly SemaphoreSlim _payloadGate = new(1, 1);
    private SqliteConnection? _payloadReader;
    private System.Data.Common.DbCommand? _payloadQuery;

    // The parts of the payload being written that are stored once, by hash, and the hashes lately stored (writer loop only).
    private readonly List<StoredValue> _values = [];
    private readonly HashSet<string> _storedRecently = new(StringComparer.Ordinal);

    // Set by the writer loop when SQLite said the file is damaged: the close then does not vouch for it.
    private volatile bool _damageSeen;

    private SqliteJournal(string connectionString, SqliteConnection writer, SecretRegistry secrets)
    {
        _secrets = secrets;
        _connectionString = connectionString;
        _writer = writer;
        _tails = new ChainTails(ReadTail);
        _queue = new GroupCommitQueue(Commit, RolledBack);
        Learning = new DbLearningStore(async ct => await OpenReaderAsync(ct));
        Waits = new Waits.DbWaitStore(async ct => await OpenReaderAsync(ct), BeginImmediateAsync, secrets);
        Schedules = new Schedules.DbScheduleStore(async ct => await OpenReaderAsync(ct));
    }

    public ILearningStore Learning { get; }

    public Waits.IWaitStore Waits { get; }

    public Schedules.IScheduleStore Schedules { get; }

    public string DatabasePath { get; private init; } = "";

    public string Location => DatabasePath;

    public JournalVerifier OpenVerifier() => JournalVerifier.Open(DatabasePath);

    /// <summary>The format this file was migrated from when it was opened, or null if it needed no migration.</summary>
    public int? MigratedFromVersion { get; private init; }

    /// <summary>
    /// Opens (creating if needed) the journal in <paramref name="storeDirectory"/>. Every text the writer stores
    /// (inputs, outputs, errors, results) passes through <paramref name="secrets"/> first. A damaged journal is
    /// refused (<see cref="StoreDamagedException"/>) before anything is written into it.
    /// </summary>
    public static SqliteJournal Open(string storeDirectory, SecretRegistry? secrets = null)
    {
        Directory.CreateDirectory(storeDirectory);
        StoreIntegrity.EnsureIntact(storeDirectory);
        var path = Path.Combine(storeDirectory, StoreIntegrity.JournalFileName);
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();

        var writer = new SqliteConnection(connectionString);
        int? migratedFrom;
        try
        {
            writer.Open();
            migratedFrom = JournalSchema.Ensure(writer, path);
        }
        catch
        {
            writer.Dispose();
            throw;
        }

        return new SqliteJournal(connectionString, writer, secrets ?? new SecretRegistry()) { DatabasePath = path, MigratedFromVersion = migratedFrom };
    }

    /// <summary>Records the run; unless it says otherwise, as run by this machine and process.</summary>
    public ValueTask StartRunAsync(RunRecord run, CancellationToken cancellationToken)
    {
        // Marked before it is written, so that a prune batched with the insert never takes it for stale.
        _active.Started(run.Id);
        return EnqueueAsync(
            new JournalWrite.StartRun(run with { Host = run.Host ?? Environment.MachineName, Pid = run.Pid ?? Environment.ProcessId }),
            cancellationToken);
    }

    public ValueTask AppendAsync(JournalEntry entry, CancellationToken cancellationToken) =>
        EnqueueAsync(new JournalWrite.Append(entry), cancellationToken);

    public async ValueTask EndRunAsync(string runId, RunStatus status, JsonNode? result, string? error, DateTimeOffset endedAt, CancellationToken cancellationToken)
    {
        await EnqueueAsync(new JournalWrite.EndRun(runId, status, result, error, endedAt), cancellationToken).ConfigureAwait(false);
        _active.Ended(runId);
    }

    public ValueTask ReopenRunAsync(string runId, CancellationToken cancellationToken)
    {
        _active.Started(runId);
        return EnqueueAsync(new JournalWrite.ReopenRun(runId, Environment.MachineName, Environment.ProcessId), cancellationToken);
    }

    /// <summary>Goes through the writer loop, so it is one transaction ordered with every append.</summary>
    public async ValueTask<IReadOnlyList<string>> PruneAsync(DateTimeOffset? startedBefore, int? keepNewest, CancellationToken cancellationToken)
    {
        RunRetention.Validate(startedBefore, keepNewest);
        var prune = new JournalWrite.Prune(startedBefore, keepNewest);
        await EnqueueAsync(prune, cancellationToken).ConfigureAwait(false);
        return prune.Pruned;
    }

    public ValueTask SetReportAsync(string runId, string? reportPath, string? reportError, CancellationToken cancellationToken) =>
        EnqueueAsync(new JournalWrite.SetReport(runId, reportPath, reportError), cancellationToken);

    public async ValueTask<IReadOnlyList<RunRecord>> ListRunsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        return await JournalCommands.ListRunsAsync(connection, hash => JournalCommands.LookupValue(connection, hash), cancellationToken);
    }

    public async ValueTask<IReadOnlyList<RunRecord>> ListOpenRunsAsync(string script, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        return await JournalCommands.ListOpenRunsAsync(connection, hash => JournalCommands.LookupValue(connection, hash), script, cancellationToken);
    }

    public async ValueTask<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        return await JournalCommands.GetRunAsync(connection, hash => JournalCommands.LookupValue(connection, hash), runId, cancellationToken);
    }

    public async ValueTask<IReadOnlyList<JournalEntry>> GetEntriesAsync(string runId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        return await JournalCommands.GetEntriesAsync(connection, hash => JournalCommands.LookupValue(connection, hash), runId, cancellationToken);
    }

    public async IAsyncEnumerable<JournalRow> ReadAsync(string runId, long afterSeq, PayloadSelector payloads, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Read through SQLite's own API, as the writer inserts: a report of a million steps reads two million rows, and
        // the data reader's per-column work (and a string for every repeated kind, event and agent) cost more than SQLite.
        await using var connection = await OpenReaderAsync(cancellationToken);
        var db = connection.Handle!;
        var statement = Prepare(db, "SELECT seq, step_id, event, parent_id, name, kind, agent, attempt, length(payload), error, at, payload FROM journal WHERE run_id = ?1 AND seq > ?2 ORDER BY seq");
        try
        {
            BindText(statement, 1, runId);
            raw.sqlite3_bind_int64(statement, 2, afterSeq);
            var words = new Utf8Words();
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var rc = raw.sqlite3_step(statement);
                if (rc == raw.SQLITE_DONE)
                {
                    break;
                }

                if (rc != raw.SQLITE_ROW)
                {
                    Check(rc, db);
                }

                yield return ReadRow(connection, statement, runId, words, payloads);
            }
        }
        finally
        {
            statement.Dispose();
        }
    }

    /// <summary>The current row of the journal query, with as much of its payload as <paramref name="payloads"/> asks for.</summary>
    private static JournalRow ReadRow(SqliteConnection connection, sqlite3_stmt statement, string runId, Utf8Words words, PayloadSelector payloads)
    {
        try
        {
            var entry = ReadEntry(new SqliteRow(statement), runId, words, out var chars);
            return JournalRow.Read(
                entry,
                chars,
                () => new SqliteRow(statement).Text(11)!,
                payloads,
                (hash, count) => JournalCommands.ValueStart(connection, hash, count),
                hash => JournalCommands.LookupValue(connection, hash));
        }
        catch (Exception ex) when (JournalRowException.IsRowProblem(ex))
        {
            throw JournalRowException.Entry(runId, new SqliteRow(statement).Int64(0), ex);
        }
    }

    /// <summary>The current row of the journal query, without its payload: its length is given instead.</summary>
    private static JournalEntry ReadEntry(SqliteRow row, string runId, Utf8Words words, out long payloadChars)
    {
        payloadChars = row.Int64(8);
        return new JournalEntry(
            runId,
            row.Int64(0),
            row.Text(1)!,
            EventOf(row.Utf8(2)),
            row.Text(3),
            words.Get(row.Utf8(4)),
            words.Get(row.Utf8(5)),
            row.IsNull(6) ? null : words.Get(row.Utf8(6)),
            row.Int32(7),
            null,
            row.Text(9),
            JournalCommands.FromUnixMs(row.Int64(10)));
    }

    private static StepEvent EventOf(ReadOnlySpan<byte> name)
    {
        for (var i = 0; i < EventNames.Length; i++)
        {
            if (name.SequenceEqual(EventNameBytes[i]))
            {
                return (StepEvent)i;
            }
        }

        throw new InvalidDataException($"the journal has an event '{System.Text.Encoding.UTF8.GetString(name)}' this engine does not know");
    }

    private static readonly byte[][] EventNameBytes = [.. EventNames.Select(System.Text.Encoding.UTF8.GetBytes)];

    /// <summary>The strings a journal repeats row after row (step names, kinds, agents), decoded once each.</summary>
    private sealed class Utf8Words
    {
        // Past this many distinct words (names made unique per step), further ones are only decoded.
        private const int Capacity = 4096;
        private readonly Dictionary<ulong, (byte[] Bytes, string Text)> _known = [];

        public string Get(ReadOnlySpan<byte> utf8)
        {
            // FNV-1a: words are short, and a collision only costs a decode.
            var hash = 14695981039346656037UL;
            foreach (var b in utf8)
            {
                hash = (hash ^ b) * 1099511628211UL;
            }

            if (_known.TryGetValue(hash, out var known) && utf8.SequenceEqual(known.Bytes))
            {
                return known.Text;
            }

            var decoded = System.Text.Encoding.UTF8.GetString(utf8);
            if (_known.Count < Capacity)
            {
                _known.TryAdd(hash, (utf8.ToArray(), decoded));
            }

            return decoded;
        }
    }

    /// <summary>A point read on the journal's key, on one connection kept for them: a resume makes one per replayed step.</summary>
    public async ValueTask<JsonNode?> GetPayloadAsync(string runId, long seq, CancellationToken cancellationToken)
    {
        await _payloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_payloadReader is null)
            {
                _payloadReader = await OpenReaderAsync(cancellationToken);
                _payloadQuery = JournalCommands.PayloadQuery(_payloadReader);
            }

            var reader = _payloadReader;
            return JournalCommands.ReadPayload(_payloadQuery!, hash => JournalCommands.LookupValue(reader, hash), runId, seq);
        }
        finally
        {
            _payloadGate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _queue.CompleteAsync().ConfigureAwait(false);
        _append?.Dispose();
        _payloadQuery?.Dispose();
        if (_payloadReader is not null)
        {
            await _payloadReader.DisposeAsync().ConfigureAwait(false);
        }

        _payloadGate.Dispose();
        _storeValue?.Dispose();
        _referValue?.Dispose();
        _readTail?.Dispose();
        _setFinalHash?.Dispose();
        _chain.Dispose();

        await _writer.DisposeAsync().ConfigureAwait(false);
        _active.Clear();
        if (!_damageSeen)
        {
            StoreIntegrity.RecordCleanClose(Path.GetDirectoryName(DatabasePath)!);
        }
    }

    private ValueTask EnqueueAsync(JournalWrite write, CancellationToken cancellationToken) => _queue.EnqueueAsync(write, cancellationToken);

    private void Commit(List<JournalWrite> batch)
    {
        using var transaction = _writer.BeginTransaction();
        foreach (var write in batch)
        {
            Apply(write, transaction);
        }

        transaction.Commit();
    }

    private void RolledBack(Exception ex)
    {
        _damageSeen |= StoreIntegrity.FindDamage(ex) is not null;

        // The batch rolled back, values and chain links with it: none may be taken as stored any more.
        _storedRecently.Clear();
        _tails.Clear();
    }

    private void Apply(JournalWrite write, SqliteTransaction transaction)
    {
        switch (write)
        {
            case JournalWrite.Prune prune:
                JournalCommands.Prune(_writer, transaction, prune, _tails.Forget, sharedStore: false);

                // A value the pruned runs alone referred to is gone: the next run that holds it stores it again.
                _storedRecently.Clear();
                return;
            case JournalWrite.Append(var e):
                ApplyAppend(e);
                return;
        }

        var finalHash = _tails.Apply(write);
        using var command = _writer.CreateCommand();
        command.Transaction = transaction;
        JournalCommands.Prepare(command, write, _secrets, Encode, finalHash);
        if (command.ExecuteNonQuery() == 0 && write is JournalWrite.ReopenRun reopen)
        {
            // Fails this write alone; the rest of the batch commits.
            write.Failure = JournalWrite.ReopenRun.NoSuchRun(reopen.RunId);
        }
    }

    private void ApplyAppend(JournalEntry e)
    {
        var db = _writer.Handle!;
        if (_append is null)
        {
            Check(raw.sqlite3_prepare_v2(
                db,
                "INSERT INTO journal (run_id, seq, step_id, event, parent_id, name, kind, agent, attempt, payload, error, at, chain) " +
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                out var prepared), db);
            _append = prepared;
        }

        // The row's fields go into the chain's canonical bytes as UTF-8, and are bound from there: encoded once for both.
        var tail = _tails.Of(e.RunId);
        var chain = _chain;
        var at = e.At.ToUnixTimeMilliseconds();
        chain.Begin(tail.Hash, e.Seq, e.Attempt, at);
        var statement = _append;
        Span<byte> hash = stackalloc byte[JournalChain.HashSize];
        try
        {
            BindText(statement, 1, e.RunId);
            raw.sqlite3_bind_int64(statement, 2, e.Seq);
            chain.Add(EventNameBytes[(int)e.Event]);
            BindLast(statement, 4, chain);
            chain.Add(_secrets.Redact(e.StepId));
            BindLast(statement, 3, chain);
            chain.Add(_secrets.RedactOrNull(e.ParentId));
            BindLast(statement, 5, chain);
            chain.Add(_secrets.Redact(e.Name));
            BindLast(statement, 6, chain);
            chain.Add(e.Kind);
            BindLast(statement, 7, chain);
            chain.Add(e.Agent);
            BindLast(statement, 8, chain);
            raw.sqlite3_bind_int(statement, 9, e.Attempt);
            chain.Add(Encode(e.RunId, e.Payload));
            BindLast(statement, 10, chain);
            chain.Add(_secrets.RedactOrNull(e.Error));
            BindLast(statement, 11, chain);
            raw.sqlite3_bind_int64(statement, 12, at);
            chain.Hash(hash);
            raw.sqlite3_bind_blob(statement, 13, hash);
            var rc = raw.sqlite3_step(statement);
            if (rc != raw.SQLITE_DONE)
            {
                Check(rc, db);
            }
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }

        hash.CopyTo(tail.Hash);
        if (tail.Ended)
        {
            // A step that journaled after its run ended (one that ignored cancellation): the run's final hash follows it.
            SetFinalHash(e.RunId, tail.Hash);
        }
    }

    private static void BindLast(sqlite3_stmt statement, int index, JournalChain chain)
    {
        if (chain.LastIsNull)
        {
            raw.sqlite3_bind_null(statement, index);
        }
        else
        {
            raw.sqlite3_bind_text(statement, index, chain.Last);
        }
    }

    /// <summary>The run's last row's chain, and whether the run has ended: where a run this writer has not met stands.</summary>
    private (byte[]? Last, bool Ended) ReadTail(string runId)
    {
        var db = _writer.Handle!;
        _readTail ??= Prepare(db, "SELECT (SELECT chain FROM journal WHERE run_id = ?1 ORDER BY seq DESC LIMIT 1), (SELECT ended_at IS NOT NULL FROM runs WHERE id = ?1)");
        try
        {
            BindText(_readTail, 1, runId);
            var rc = raw.sqlite3_step(_readTail);
            if (rc != raw.SQLITE_ROW)
            {
                Check(rc, db);
            }

            return (raw.sqlite3_column_blob(_readTail, 0).ToArray(), raw.sqlite3_column_int(_readTail, 1) == 1);
        }
        finally
        {
            raw.sqlite3_reset(_readTail);
        }
    }

    private void SetFinalHash(string runId, byte[] hash)
    {
        var db = _writer.Handle!;
        _setFinalHash ??= Prepare(db, "UPDATE runs SET final_hash = ?2 WHERE id = ?1");
        Run(_setFinalHash, db, s =>
        {
            BindText(s, 1, runId);
            raw.sqlite3_bind_blob(s, 2, hash);
        });
    }

    /// <summary>A payload as the journal stores it: redacted, with its large parts stored once in <c>payload_values</c> (see <see cref="PayloadValues"/>).</summary>
    private string? Encode(string runId, JsonNode? payload)
    {
        if (payload is null)
        {
            return null;
        }

        var text = PayloadValues.Encode(payload, _secrets.IsEmpty ? null : _secrets.RedactJson, _values);
        if (_values.Count > 0)
        {
            var db = _writer.Handle!;
            _storeValue ??= Prepare(db, "INSERT OR IGNORE INTO payload_values (hash, size, json) VALUES (?1, ?2, ?3)");
            _referValue ??= Prepare(db, "INSERT OR IGNORE INTO run_values (run_id, hash) VALUES (?1, ?2)");
            foreach (var value in _values)
            {
                // A value nested in its parents' outputs comes again with each of them: stored the first time only.
                if (_storedRecently.Add(value.Hash))
                {
                    Run(_storeValue, db, s =>
                    {
                        BindText(s, 1, value.Hash);
                        raw.sqlite3_bind_int64(s, 2, value.Size);
                        raw.sqlite3_bind_text(s, 3, value.Utf8);
                    });
                }

                Run(_referValue, db, s =>
                {
                    BindText(s, 1, runId);
                    BindText(s, 2, value.Hash);
                });
            }

            PayloadValues.Release(_values);
            if (_storedRecently.Count > 4096)
            {
                _storedRecently.Clear();
            }
        }

        return text;
    }

    private static sqlite3_stmt Prepare(sqlite3 db, string sql)
    {
        Check(raw.sqlite3_prepare_v2(db, sql, out var prepared), db);
        return prepared;
    }

    private static void Run(sqlite3_stmt statement, sqlite3 db, Action<sqlite3_stmt> bind)
    {
        try
        {
            bind(statement);
            var rc = raw.sqlite3_step(statement);
            if (rc != raw.SQLITE_DONE)
            {
                Check(rc, db);
            }
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    private static void BindText(sqlite3_stmt statement, int index, string? value)
    {
        if (value is null)
        {
            raw.sqlite3_bind_null(statement, index);
        }
        else
        {
            raw.sqlite3_bind_text(statement, index, value);
        }
    }

    private static void Check(int rc, sqlite3 db)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    /// <summary>BEGIN IMMEDIATE: the transaction takes the write lock at once, so no other writer runs beside it.</summary>
    private static Task<DbTransaction> BeginImmediateAsync(DbConnection connection, CancellationToken cancellationToken) =>
        Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }
}
