using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
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
internal sealed class SqliteJournal : IJournal
{
    /// <summary>The journal's format; bump it with a migration in <see cref="JournalSchema"/>.</summary>
    public const int FormatVersion = 7;

    private static readonly string[] EventNames = Enum.GetNames<StepEvent>();

    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly Channel<Write> _queue = Channel.CreateUnbounded<Write>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writerLoop;
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
    private readonly Dictionary<string, ChainTail> _tails = new(StringComparer.Ordinal);
    private readonly JournalChain _chain = new();

    private readonly SemaphoreSlim _payloadGate = new(1, 1);
    private SqliteConnection? _payloadReader;
    private SqliteCommand? _payloadQuery;

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
        _writerLoop = Task.Run(WriteLoopAsync);
        Learning = new SqliteLearningStore(connectionString);
        Waits = new Waits.SqliteWaitStore(connectionString);
        Schedules = new Schedules.SqliteScheduleStore(connectionString);
    }

    public ILearningStore Learning { get; }

    public Waits.IWaitStore Waits { get; }

    public Schedules.IScheduleStore Schedules { get; }

    public string DatabasePath { get; private init; } = "";

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
            new Write.StartRun(run with { Host = run.Host ?? Environment.MachineName, Pid = run.Pid ?? Environment.ProcessId }),
            cancellationToken);
    }

    public ValueTask AppendAsync(JournalEntry entry, CancellationToken cancellationToken) =>
        EnqueueAsync(new Write.Append(entry), cancellationToken);

    public async ValueTask EndRunAsync(string runId, RunStatus status, JsonNode? result, string? error, DateTimeOffset endedAt, CancellationToken cancellationToken)
    {
        await EnqueueAsync(new Write.EndRun(runId, status, result, error, endedAt), cancellationToken).ConfigureAwait(false);
        _active.Ended(runId);
    }

    public ValueTask ReopenRunAsync(string runId, CancellationToken cancellationToken)
    {
        _active.Started(runId);
        return EnqueueAsync(new Write.ReopenRun(runId, Environment.MachineName, Environment.ProcessId), cancellationToken);
    }

    /// <summary>Goes through the writer loop, so it is one transaction ordered with every append.</summary>
    public async ValueTask<IReadOnlyList<string>> PruneAsync(DateTimeOffset? startedBefore, int? keepNewest, CancellationToken cancellationToken)
    {
        RunRetention.Validate(startedBefore, keepNewest);
        var prune = new Write.Prune(startedBefore, keepNewest);
        await EnqueueAsync(prune, cancellationToken).ConfigureAwait(false);
        return prune.Pruned;
    }

    public ValueTask SetReportAsync(string runId, string? reportPath, string? reportError, CancellationToken cancellationToken) =>
        EnqueueAsync(new Write.SetReport(runId, reportPath, reportError), cancellationToken);

    public async ValueTask<IReadOnlyList<RunRecord>> ListRunsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT " + RunColumns + " FROM runs ORDER BY started_at, id";
        return await ReadRunsAsync(command, cancellationToken);
    }

    /// <summary>The runs of <paramref name="script"/> that are recorded as running or cancelled, oldest first: what a new run of it points at.</summary>
    public async ValueTask<IReadOnlyList<RunRecord>> ListOpenRunsAsync(string script, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT " + RunColumns + " FROM runs WHERE script = $script AND status IN ($running, $cancelled) ORDER BY started_at, id";
        command.Parameters.AddWithValue("$script", script);
        command.Parameters.AddWithValue("$running", nameof(RunStatus.Running));
        command.Parameters.AddWithValue("$cancelled", nameof(RunStatus.Cancelled));
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
            try
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
                    Decode(connection, reader, 8),
                    reader.IsDBNull(9) ? null : reader.GetString(9),
                    FromUnixMs(reader.GetInt64(10))));
            }
            catch (Exception ex) when (JournalRowException.IsRowProblem(ex))
            {
                throw JournalRowException.Entry(runId, reader.GetInt64(0), ex);
            }
        }

        return entries;
    }

    public async IAsyncEnumerable<JournalRow> ReadAsync(string runId, PayloadSelector payloads, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Read through SQLite's own API, as the writer inserts: a report of a million steps reads two million rows, and
        // the data reader's per-column work (and a string for every repeated kind, event and agent) cost more than SQLite.
        await using var connection = await OpenReaderAsync(cancellationToken);
        var db = connection.Handle!;
        var statement = Prepare(db, "SELECT seq, step_id, event, parent_id, name, kind, agent, attempt, length(payload), error, at, payload FROM journal WHERE run_id = ?1 ORDER BY seq");
        try
        {
            BindText(statement, 1, runId);
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
            var truncated = false;
            if (chars > 0)
            {
                var wanted = payloads(entry.StepId, entry.Event, entry.Kind);
                var stored = wanted == PayloadRead.Skip ? null : new SqliteRow(statement).Text(11);
                var text = stored;
                if (wanted == PayloadRead.Preview && PayloadValues.MayReferToValues(stored!))
                {
                    // What the row refers to counts, but a preview reads of each value only its start.
                    (text, chars) = PayloadValues.Preview(stored!, JournalRow.PreviewChars, (hash, count) => ValueStart(connection, hash, count));
                }

                if (wanted == PayloadRead.Full || (wanted == PayloadRead.Preview && chars <= JournalRow.PreviewChars))
                {
                    // From the row as stored, not the preview: a value's recorded size only decides how much to read.
                    entry = entry with { Payload = PayloadValues.Decode(stored!, hash => LookupValue(connection, hash)) };
                }
                else if (wanted == PayloadRead.Preview)
                {
                    entry = entry with { Payload = JsonValue.Create(text!.Length > JournalRow.PreviewChars ? text[..JournalRow.PreviewChars] : text) };
                    truncated = true;
                }
            }

            return new JournalRow(entry, chars, truncated);
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
            FromUnixMs(row.Int64(10)));
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
                _payloadQuery = _payloadReader.CreateCommand();
                _payloadQuery.CommandText = "SELECT payload FROM journal WHERE run_id = $id AND seq = $seq";
                _payloadQuery.Parameters.Add("$id", SqliteType.Text);
                _payloadQuery.Parameters.Add("$seq", SqliteType.Integer);
            }

            _payloadQuery!.Parameters[0].Value = runId;
            _payloadQuery.Parameters[1].Value = seq;
            using var reader = _payloadQuery.ExecuteReader();
            try
            {
                return reader.Read() ? Decode(_payloadReader, reader, 0) : null;
            }
            catch (Exception ex) when (JournalRowException.IsRowProblem(ex))
            {
                throw JournalRowException.Entry(runId, seq, ex);
            }
        }
        finally
        {
            _payloadGate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writerLoop.ConfigureAwait(false);
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

    private const string RunColumns =
        "id, script, script_hash, language, engine_version, status, input, result, error, started_at, ended_at, report, host, pid, report_error, final_hash";

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
                    if (write.Failure is { } failure)
                    {
                        write.Done.TrySetException(failure);
                    }
                    else
                    {
                        write.Done.TrySetResult();
                    }
                }
            }
            catch (Exception ex)
            {
                _damageSeen |= StoreIntegrity.FindDamage(ex) is not null;

                // The batch rolled back, values and chain links with it: none may be taken as stored any more.
                _storedRecently.Clear();
                _tails.Clear();
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
        if (write is Write.Prune prune)
        {
            ApplyPrune(prune, transaction);
            return;
        }

        if (write is Write.Append(var e))
        {
            ApplyAppend(e);
            return;
        }

        using var command = _writer.CreateCommand();
        command.Transaction = transaction;
        switch (write)
        {
            case Write.StartRun(var r):
                command.CommandText =
                    "INSERT INTO runs (id, script, script_hash, language, engine_version, status, input, started_at, host, pid) " +
                    "VALUES ($id, $script, $hash, $language, $engine, $status, $input, $started, $host, $pid)";
                command.Parameters.AddWithValue("$id", r.Id);
                command.Parameters.AddWithValue("$script", r.Script);
                command.Parameters.AddWithValue("$hash", r.ScriptHash);
                command.Parameters.AddWithValue("$language", r.Language);
                command.Parameters.AddWithValue("$engine", r.EngineVersion);
                command.Parameters.AddWithValue("$status", r.Status.ToString());
                command.Parameters.AddWithValue("$input", (object?)_secrets.RedactJsonOrNull(r.Input?.ToJsonString()) ?? DBNull.Value);
                command.Parameters.AddWithValue("$started", r.StartedAt.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$host", (object?)r.Host ?? DBNull.Value);
                command.Parameters.AddWithValue("$pid", (object?)r.Pid ?? DBNull.Value);
                _tails[r.Id] = new ChainTail(JournalChain.Genesis(r.Id));
                break;
            case Write.EndRun(var id, var status, var result, var error, var ended):
                command.CommandText =
                    "UPDATE runs SET status = $status, result = $result, error = $error, ended_at = $ended, final_hash = $final WHERE id = $id";
                command.Parameters.AddWithValue("$id", id);
                command.Parameters.AddWithValue("$status", status.ToString());
                command.Parameters.AddWithValue("$result", (object?)Encode(id, result) ?? DBNull.Value);
                command.Parameters.AddWithValue("$error", (object?)_secrets.RedactOrNull(error) ?? DBNull.Value);
                command.Parameters.AddWithValue("$ended", ended.ToUnixTimeMilliseconds());
                var tail = TailOf(id);
                command.Parameters.AddWithValue("$final", tail.Hash);
                tail.Ended = true;
                break;
            case Write.SetReport(var id, var report, var reportError):
                command.CommandText = "UPDATE runs SET report = $report, report_error = $error WHERE id = $id";
                command.Parameters.AddWithValue("$id", id);
                command.Parameters.AddWithValue("$report", (object?)report ?? DBNull.Value);
                command.Parameters.AddWithValue("$error", (object?)_secrets.RedactOrNull(reportError) ?? DBNull.Value);
                break;
            case Write.ReopenRun(var id, var host, var pid):
                command.CommandText =
                    "UPDATE runs SET status = $status, ended_at = NULL, error = NULL, result = NULL, report_error = NULL, final_hash = NULL, host = $host, pid = $pid WHERE id = $id";
                command.Parameters.AddWithValue("$id", id);
                command.Parameters.AddWithValue("$status", nameof(RunStatus.Running));
                command.Parameters.AddWithValue("$host", host);
                command.Parameters.AddWithValue("$pid", pid);
                _tails.Remove(id);
                break;
        }

        var rows = command.ExecuteNonQuery();
        if (write is Write.ReopenRun reopen && rows == 0)
        {
            // Fails this write alone; the rest of the batch commits.
            write.Failure = new InvalidOperationException($"There is no run '{reopen.RunId}' in the journal to reopen.");
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
        var tail = TailOf(e.RunId);
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

    /// <summary>Where the run's chain stands: known to this writer, or read from its last row (a run resumed, or begun by another process).</summary>
    private ChainTail TailOf(string runId)
    {
        if (_tails.TryGetValue(runId, out var tail))
        {
            return tail;
        }

        var db = _writer.Handle!;
        _readTail ??= Prepare(db, "SELECT (SELECT chain FROM journal WHERE run_id = ?1 ORDER BY seq DESC LIMIT 1), (SELECT ended_at IS NOT NULL FROM runs WHERE id = ?1)");
        tail = new ChainTail(JournalChain.Genesis(runId));
        try
        {
            BindText(_readTail, 1, runId);
            var rc = raw.sqlite3_step(_readTail);
            if (rc != raw.SQLITE_ROW)
            {
                Check(rc, db);
            }

            // A run migrated from before format 6 ends in unchained rows: what it appends now chains from its genesis.
            if (raw.sqlite3_column_blob(_readTail, 0) is { Length: JournalChain.HashSize } last)
            {
                last.CopyTo(tail.Hash);
            }

            tail.Ended = raw.sqlite3_column_int(_readTail, 1) == 1;
        }
        finally
        {
            raw.sqlite3_reset(_readTail);
        }

        if (_tails.Count >= 4096)
        {
            // Ended runs' tails are kept only while there are few: any can be read again from its last row.
            _tails.Clear();
        }

        _tails[runId] = tail;
        return tail;
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

    /// <summary>The last chain hash of a run this writer appends to, and whether the run has ended (its final hash then follows each append).</summary>
    private sealed class ChainTail(byte[] hash)
    {
        public byte[] Hash { get; } = hash;

        public bool Ended { get; set; }
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

    private void ApplyPrune(Write.Prune prune, SqliteTransaction transaction)
    {
        var runs = new List<RunRecord>();
        using (var select = _writer.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = "SELECT " + RunColumns + " FROM runs";
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                runs.Add(ReadRun(reader));
            }
        }

        var pruned = RunRetention.Select(runs, prune.StartedBefore, prune.KeepNewest);
        using var deleteSteps = _writer.CreateCommand();
        deleteSteps.Transaction = transaction;
        deleteSteps.CommandText = "DELETE FROM journal WHERE run_id = $id";
        var stepsId = deleteSteps.Parameters.Add("$id", SqliteType.Text);
        using var deleteRun = _writer.CreateCommand();
        deleteRun.Transaction = transaction;
        deleteRun.CommandText = "DELETE FROM runs WHERE id = $id";
        var runId = deleteRun.Parameters.Add("$id", SqliteType.Text);
        using var deleteRefs = _writer.CreateCommand();
        deleteRefs.Transaction = transaction;
        deleteRefs.CommandText = "DELETE FROM run_values WHERE run_id = $id";
        var refsId = deleteRefs.Parameters.Add("$id", SqliteType.Text);
        using var deleteWaits = _writer.CreateCommand();
        deleteWaits.Transaction = transaction;
        deleteWaits.CommandText = "DELETE FROM waits WHERE run_id = $id; DELETE FROM signals WHERE run_id = $id";
        var waitsId = deleteWaits.Parameters.Add("$id", SqliteType.Text);
        foreach (var run in pruned)
        {
            waitsId.Value = run.Id;
            deleteWaits.ExecuteNonQuery();
            stepsId.Value = run.Id;
            deleteSteps.ExecuteNonQuery();
            refsId.Value = run.Id;
            deleteRefs.ExecuteNonQuery();
            runId.Value = run.Id;
            deleteRun.ExecuteNonQuery();
            _tails.Remove(run.Id);
        }

        if (pruned.Count > 0)
        {
            // Values are shared between runs: only those no remaining run refers to go.
            using var orphans = _writer.CreateCommand();
            orphans.Transaction = transaction;
            orphans.CommandText = "DELETE FROM payload_values WHERE hash NOT IN (SELECT hash FROM run_values)";
            orphans.ExecuteNonQuery();
        }

        prune.Pruned = pruned.Select(r => r.Id).ToList();
    }

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private static async Task<IReadOnlyList<RunRecord>> ReadRunsAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var connection = command.Connection!;
        var runs = new List<RunRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            try
            {
                runs.Add(ReadRun(reader, hash => LookupValue(connection, hash)));
            }
            catch (Exception ex) when (JournalRowException.IsRowProblem(ex))
            {
                throw JournalRowException.Run(reader.IsDBNull(0) ? "?" : reader.GetString(0), ex);
            }
        }

        return runs;
    }

    /// <summary>One row of <see cref="RunColumns"/>; the result's stored values are fetched with <paramref name="lookup"/>, or left as markers without one.</summary>
    private static RunRecord ReadRun(SqliteDataReader reader, Func<string, string>? lookup = null) => new()
    {
        Id = reader.GetString(0),
        Script = reader.GetString(1),
        ScriptHash = reader.GetString(2),
        Language = reader.GetString(3),
        EngineVersion = reader.GetString(4),
        Status = Enum.Parse<RunStatus>(reader.GetString(5)),
        Input = ParseJson(reader, 6),
        Result = lookup is null ? ParseJson(reader, 7) : Decode(reader, 7, lookup),
        Error = reader.IsDBNull(8) ? null : reader.GetString(8),
        StartedAt = FromUnixMs(reader.GetInt64(9)),
        EndedAt = reader.IsDBNull(10) ? null : FromUnixMs(reader.GetInt64(10)),
        Report = reader.IsDBNull(11) ? null : reader.GetString(11),
        Host = reader.IsDBNull(12) ? null : reader.GetString(12),
        Pid = reader.IsDBNull(13) ? null : reader.GetInt32(13),
        ReportError = reader.IsDBNull(14) ? null : reader.GetString(14),
        FinalHash = reader.IsDBNull(15) ? null : Convert.ToHexStringLower(reader.GetFieldValue<byte[]>(15)),
    };

    private static JsonNode? ParseJson(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : JsonNode.Parse(reader.GetString(ordinal));

    private static JsonNode? Decode(SqliteConnection connection, SqliteDataReader reader, int ordinal) =>
        Decode(reader, ordinal, hash => LookupValue(connection, hash));

    private static JsonNode? Decode(SqliteDataReader reader, int ordinal, Func<string, string> lookup) =>
        reader.IsDBNull(ordinal) ? null : PayloadValues.Decode(reader.GetString(ordinal), lookup);

    /// <summary>The first <paramref name="count"/> characters of a stored value's JSON, and the length of all of it expanded.</summary>
    private static (string Start, long Size) ValueStart(SqliteConnection connection, string hash, int count)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT substr(json, 1, $count), size FROM payload_values WHERE hash = $hash";
        command.Parameters.AddWithValue("$hash", hash);
        command.Parameters.AddWithValue("$count", count);
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? (reader.GetString(0), reader.GetInt64(1))
            : throw new InvalidDataException($"the journal refers to a stored value ({hash}) that is not in the store");
    }

    /// <summary>A stored value's JSON; a row that refers to a value the store lacks is damage, not data.</summary>
    private static string LookupValue(SqliteConnection connection, string hash)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT json FROM payload_values WHERE hash = $hash";
        command.Parameters.AddWithValue("$hash", hash);
        return command.ExecuteScalar() as string
            ?? throw new InvalidDataException($"the journal refers to a stored value ({hash}) that is not in the store");
    }

    private static DateTimeOffset FromUnixMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private abstract record Write
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Set by the writer loop when this write alone failed without failing its batch.</summary>
        public Exception? Failure { get; set; }

        public sealed record Append(JournalEntry Entry) : Write;

        public sealed record StartRun(RunRecord Run) : Write;

        public sealed record EndRun(string RunId, RunStatus Status, JsonNode? Result, string? Error, DateTimeOffset EndedAt) : Write;

        public sealed record SetReport(string RunId, string? Report, string? ReportError) : Write;

        public sealed record ReopenRun(string RunId, string Host, int Pid) : Write;

        public sealed record Prune(DateTimeOffset? StartedBefore, int? KeepNewest) : Write
        {
            /// <summary>The pruned runs' ids, oldest first; set by the writer loop.</summary>
            public IReadOnlyList<string> Pruned { get; set; } = [];
        }
    }
}
