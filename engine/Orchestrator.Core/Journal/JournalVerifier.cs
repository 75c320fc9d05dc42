using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Orchestrator.Core.Journal;

/// <summary>
/// Checks runs' journals against their hash chains (<see cref="JournalChain"/>): reads each run's rows once, in seq
/// order, holding one row at a time, and names the first row that does not match. SQLite is read on a read-only
/// connection; PostgreSQL on two (one reads the rows while the other fetches the values they refer to).
/// </summary>
internal sealed class JournalVerifier : IDisposable
{
    /// <summary>Values checked lately; a value nested in its parents' outputs is met again with each of them.</summary>
    private const int CheckedValuesKept = 4096;

    // The text columns in the order the chain takes them: event, step_id, parent_id, name, kind, agent, payload, error.
    private static readonly int[] ChainedTexts = [2, 1, 3, 4, 5, 6, 8, 9];

    private readonly DbConnection _connection;
    private readonly DbConnection _values;
    private readonly JournalChain _chain = new();
    private readonly HashSet<string> _checkedValues = new(StringComparer.Ordinal);
    private readonly List<string> _references = [];

    /// <param name="connection">Reads the runs and their rows.</param>
    /// <param name="values">Reads the stored values while a run's rows are read: the same connection where the database allows it.</param>
    public JournalVerifier(DbConnection connection, DbConnection values)
    {
        _connection = connection;
        _values = values;
    }

    /// <summary>Opens the journal at <paramref name="journalPath"/> to read; refuses a file of another format than the current one.</summary>
    public static JournalVerifier Open(string journalPath)
    {
        var connection = StoreIntegrity.OpenReadOnly(journalPath);
        try
        {
            var version = FormatOf(connection, journalPath);
            if (version != SqliteJournal.FormatVersion)
            {
                throw new JournalFormatException(version < SqliteJournal.FormatVersion
                    ? $"{journalPath}: journal format {version} has no hash chains (they came with format {SqliteJournal.FormatVersion}); a command that opens it for writing, such as 'orchestrator runs', migrates it"
                    : $"{journalPath}: journal format {version} is newer than this engine understands ({SqliteJournal.FormatVersion}); use a newer orchestrator.");
            }

            return new JournalVerifier(connection, connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Every run's id, in the order runs are listed (by start).</summary>
    public IReadOnlyList<string> RunIds()
    {
        using var command = JournalCommands.Command(_connection, null, "SELECT id FROM runs ORDER BY started_at, id");
        using var reader = command.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>The run's journal checked against its chain, or null when there is no such run.</summary>
    public ChainVerdict? Verify(string runId, CancellationToken cancellationToken)
    {
        long chainFrom;
        byte[]? finalHash;
        using (var run = JournalCommands.Command(_connection, null, "SELECT chain_from, final_hash FROM runs WHERE id = @id"))
        {
            JournalCommands.Add(run, "@id", runId);
            using var record = run.ExecuteReader();
            if (!record.Read())
            {
                return null;
            }

            chainFrom = record.GetInt64(0);
            finalHash = record.IsDBNull(1) ? null : record.GetFieldValue<byte[]>(1);
        }

        using var rows = JournalCommands.Command(_connection, null, "SELECT seq, step_id, event, parent_id, name, kind, agent, attempt, payload, error, at, chain FROM journal WHERE run_id = @id ORDER BY seq");
        JournalCommands.Add(rows, "@id", runId);
        using var reader = rows.ExecuteReader();
        var previous = JournalChain.Genesis(runId);
        Span<byte> hash = stackalloc byte[JournalChain.HashSize];
        long entries = 0, unchained = 0, expected = 1, last = 0;
        string? lastStep = null;
        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var seq = reader.GetInt64(0);
            entries++;
            if (seq < chainFrom)
            {
                // Journaled before format 6: nothing vouches for it (see JournalSchema).
                unchained++;
                expected = seq + 1;
                continue;
            }

            var stepId = reader.IsDBNull(1) ? null : reader.GetString(1);
            var stored = StoredLink(reader);
            var payload = reader.IsDBNull(8) ? null : reader.GetString(8);
            Link(reader, previous, seq, hash);
            if (!hash.SequenceEqual(stored))
            {
                return new ChainVerdict(runId, entries, unchained, null, new ChainBreak(seq, stepId, WhyBroken(reader, previous, seq, expected, stored is null)));
            }

            if (ValueProblem(payload) is { } problem)
            {
                return new ChainVerdict(runId, entries, unchained, null, new ChainBreak(seq, stepId, problem));
            }

            hash.CopyTo(previous);
            expected = seq + 1;
            last = seq;
            lastStep = stepId;
        }

        if (finalHash is not null && !previous.AsSpan().SequenceEqual(finalHash))
        {
            var reason = $"the run's final hash {Hex(finalHash)} is not the chain's last link {Hex(previous)}: entries after it were removed, or the final hash was changed";
            return new ChainVerdict(runId, entries, unchained, null, new ChainBreak(last, lastStep, reason));
        }

        // A run migrated unchained that has not journaled since has no chain to name.
        return new ChainVerdict(runId, entries, unchained, finalHash is null && entries == unchained ? null : Hex(previous), null);
    }

    public void Dispose()
    {
        _chain.Dispose();
        if (!ReferenceEquals(_values, _connection))
        {
            _values.Dispose();
        }

        _connection.Dispose();
    }

    private static byte[]? StoredLink(DbDataReader reader) => reader.IsDBNull(11) ? null : reader.GetFieldValue<byte[]>(11);

    /// <summary>The chain hash of the current row, as if it followed <paramref name="previous"/> at <paramref name="seq"/>.</summary>
    private void Link(DbDataReader row, ReadOnlySpan<byte> previous, long seq, Span<byte> hash)
    {
        _chain.Begin(previous, seq, row.GetInt32(7), row.GetInt64(10));
        foreach (var column in ChainedTexts)
        {
            _chain.Add(row.IsDBNull(column) ? null : row.GetString(column));
        }

        _chain.Hash(hash);
    }

    /// <summary>Why the current row breaks the chain: rows missing before it, its hash erased, swapped with the next row, or changed.</summary>
    private string WhyBroken(DbDataReader rows, byte[] previous, long seq, long expected, bool noHash)
    {
        if (seq > expected)
        {
            return seq == expected + 1
                ? $"the entry before it (seq {expected}) is missing"
                : $"the entries before it (seq {expected} to {seq - 1}) are missing";
        }

        if (noHash)
        {
            return "its chain hash is gone";
        }

        // Two rows that traded places: the next row, put at this row's seq, continues the chain.
        if (rows.Read())
        {
            Span<byte> hash = stackalloc byte[JournalChain.HashSize];
            var stored = StoredLink(rows);
            Link(rows, previous, seq, hash);
            if (stored is not null && hash.SequenceEqual(stored))
            {
                return $"it was swapped with the entry at seq {rows.GetInt64(0)} (step {rows.GetString(1)})";
            }
        }

        return "it was changed: it does not hash to its link in the chain";
    }

    /// <summary>A stored value the row's payload refers to that is missing or no longer hashes to its key; null when all are whole.</summary>
    private string? ValueProblem(string? payload)
    {
        if (payload is null)
        {
            return null;
        }

        _references.Clear();
        PayloadValues.AddReferences(Encoding.UTF8.GetBytes(payload), _references);
        var pending = new Stack<string>(_references);
        while (pending.TryPop(out var hash))
        {
            if (_checkedValues.Contains(hash))
            {
                continue;
            }

            using var command = JournalCommands.Command(_values, null, "SELECT json FROM payload_values WHERE hash = @hash");
            JournalCommands.Add(command, "@hash", hash);
            if (command.ExecuteScalar() is not string text)
            {
                return $"it refers to a stored value ({hash}) that is not in the store";
            }

            var json = Encoding.UTF8.GetBytes(text);
            if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(json)), hash, StringComparison.Ordinal))
            {
                return $"the stored value it refers to ({hash}) was changed: it no longer hashes to its key";
            }

            if (_checkedValues.Count >= CheckedValuesKept)
            {
                _checkedValues.Clear();
            }

            _checkedValues.Add(hash);
            _references.Clear();
            PayloadValues.AddReferences(json, _references);
            foreach (var inner in _references)
            {
                pending.Push(inner);
            }
        }

        return null;
    }

    private static int FormatOf(SqliteConnection connection, string journalPath)
    {
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT value FROM meta WHERE key = 'format_version'";
            var text = Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture);
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version)
                ? version
                : throw new JournalFormatException($"{journalPath}: not a readable journal: its format_version '{text}' is not a format number.");
        }
        catch (SqliteException ex) when (!StoreIntegrity.IsDamage(ex))
        {
            throw new JournalFormatException($"{journalPath}: not an orchestrator journal: {StoreIntegrity.Reason(ex)}", ex);
        }
    }

    private static string Hex(ReadOnlySpan<byte> hash) => Convert.ToHexStringLower(hash);
}

/// <summary>What <c>runs verify</c> found for one run: its entries, how many predate the chain, and the final hash or the first break.</summary>
internal sealed record ChainVerdict(string RunId, long Entries, long Unchained, string? FinalHash, ChainBreak? Break)
{
    public bool Intact => Break is null;
}

/// <summary>The first entry of a run that does not match its chain, and why.</summary>
internal sealed record ChainBreak(long Seq, string? StepId, string Reason);
