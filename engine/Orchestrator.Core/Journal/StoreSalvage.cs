using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Orchestrator.Core.Journal;

/// <summary>
/// Reads what a journal that may be damaged still holds, run by run, on a read-only connection; and copies the
/// readable runs, with the tables beside them (learning, review queue), into a new store.
/// </summary>
/// <remarks>
/// Runs are found three ways — a scan of <c>runs</c>, and seeks along the keys of <c>runs</c> and of <c>journal</c> —
/// since a seek from the root can step past a damaged page that stops a scan. A run is readable when its record and
/// every one of its journal rows can be read; a partly readable run is never copied, as its replay would be wrong.
/// Tables are copied by the columns the source and the new store share, so an older format's file can be salvaged.
/// </remarks>
internal sealed class StoreSalvage : IDisposable
{
    private static readonly string[] RunTables = ["meta", "runs", "journal"];

    private readonly SqliteConnection _source;

    private StoreSalvage(SqliteConnection source) => _source = source;

    public static StoreSalvage Open(string journalPath)
    {
        var connection = StoreIntegrity.OpenReadOnly(journalPath);

        // Lets SQLite read a file shorter than its header says (a truncated one) instead of refusing it whole; the
        // connection is read-only, so the schema stays as it is.
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA writable_schema = ON";
        command.ExecuteNonQuery();
        return new StoreSalvage(connection);
    }

    /// <summary>The format the file records, or null when it cannot be read.</summary>
    public int? FormatVersion()
    {
        try
        {
            using var command = _source.CreateCommand();
            command.CommandText = "SELECT value FROM meta WHERE key = 'format_version'";
            return int.TryParse(Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture), NumberStyles.None, CultureInfo.InvariantCulture, out var version)
                ? version
                : null;
        }
        catch (SqliteException)
        {
            return null;
        }
    }

    /// <summary>Every run the file still names, each read whole or with why it cannot be; and what stopped a listing early.</summary>
    public SalvageProbe Probe()
    {
        var problems = new List<string>();
        var ids = new SortedSet<string>(StringComparer.Ordinal);
        Collect(ids, problems, "the runs table", "SELECT id FROM runs", seek: false);
        Collect(ids, problems, null, "SELECT id FROM runs WHERE id > $after ORDER BY id LIMIT 1", seek: true);
        Collect(ids, problems, "the journal table", "SELECT run_id FROM journal WHERE run_id > $after ORDER BY run_id LIMIT 1", seek: true);

        var readable = new List<string>();
        var unreadable = new List<UnreadableRun>();
        foreach (var id in ids)
        {
            try
            {
                var (run, journal) = ReadRun(id);
                if (run.Rows.Count == 0)
                {
                    unreadable.Add(new UnreadableRun(id, $"its run record is missing ({journal.Rows.Count} journal rows without it)"));
                }
                else
                {
                    readable.Add(id);
                }
            }
            catch (SqliteException ex)
            {
                unreadable.Add(new UnreadableRun(id, StoreIntegrity.Reason(ex)));
            }
        }

        return new SalvageProbe(readable, unreadable, problems);
    }

    /// <summary>
    /// Copies <paramref name="probe"/>'s readable runs and every other table both files have into the journal at
    /// <paramref name="targetJournalPath"/> (a new, empty store), in one transaction; returns the runs copied and what could not be read.
    /// </summary>
    public (IReadOnlyList<string> Copied, IReadOnlyList<string> Lost) CopyTo(SalvageProbe probe, string targetJournalPath)
    {
        var copied = new List<string>();
        var lost = new List<string>();
        using var target = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = targetJournalPath, Pooling = false }.ToString());
        target.Open();
        using var transaction = target.BeginTransaction();
        RowInsert? runInsert = null;
        RowInsert? rowInsert = null;
        var unchained = false;
        try
        {
            // Read again run by run rather than kept from the probe: a store's runs need not fit in memory.
            foreach (var id in probe.Readable)
            {
                RowSet run, journal;
                try
                {
                    (run, journal) = ReadRun(id);
                }
                catch (SqliteException ex)
                {
                    lost.Add($"run {id}: {StoreIntegrity.Reason(ex)}");
                    continue;
                }

                runInsert ??= Insert(target, transaction, "runs", run.Columns);
                rowInsert ??= Insert(target, transaction, "journal", journal.Columns);
                runInsert.Write(run);
                rowInsert.Write(journal);
                copied.Add(id);
                unchained = !run.Columns.Contains("chain_from", StringComparer.OrdinalIgnoreCase);
            }

            if (unchained)
            {
                // From a file older than format 6: its runs are unchained, as a migration would leave them.
                JournalSchema.MarkUnchained(target, transaction);
            }
        }
        finally
        {
            runInsert?.Dispose();
            rowInsert?.Dispose();
        }

        foreach (var table in StoreIntegrity.TableNames(target).Except(RunTables, StringComparer.Ordinal).Intersect(StoreIntegrity.TableNames(_source), StringComparer.Ordinal))
        {
            CopyTable(target, transaction, table, lost);
        }

        transaction.Commit();
        return (copied, lost);
    }

    public void Dispose() => _source.Dispose();

    /// <summary>Adds the ids a query yields until it ends or meets damage; a seek query is asked again after each id.</summary>
    private void Collect(SortedSet<string> ids, List<string> problems, string? what, string sql, bool seek)
    {
        var count = 0;
        try
        {
            using var command = _source.CreateCommand();
            command.CommandText = sql;
            if (!seek)
            {
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    ids.Add(reader.GetString(0));
                    count++;
                }

                return;
            }

            var after = command.Parameters.AddWithValue("$after", "");
            while (command.ExecuteScalar() is string id)
            {
                ids.Add(id);
                after.Value = id;
                count++;
            }
        }
        catch (SqliteException ex) when (what is not null)
        {
            problems.Add($"{what} could be read only in part ({count} runs listed): {StoreIntegrity.Reason(ex)}");
        }
        catch (SqliteException)
        {
            // A second way to list the same runs; the first one says what stopped it.
        }
    }

    private (RowSet Run, RowSet Journal) ReadRun(string id) =>
        (Read("SELECT * FROM runs WHERE id = $id", id), Read("SELECT * FROM journal WHERE run_id = $id ORDER BY seq", id));

    private RowSet Read(string sql, string id)
    {
        using var command = _source.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            reader.GetValues(row!);
            rows.Add(row);
        }

        return new RowSet(columns, rows);
    }

    private void CopyTable(SqliteConnection target, SqliteTransaction transaction, string table, List<string> lost)
    {
        var copied = 0;
        try
        {
            using var select = _source.CreateCommand();
            select.CommandText = $"SELECT * FROM \"{table}\"";
            using var reader = select.ExecuteReader();
            var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
            using var insert = Insert(target, transaction, table, columns);
            var row = new object?[reader.FieldCount];
            while (reader.Read())
            {
                reader.GetValues(row!);
                insert.Write(row);
                copied++;
            }
        }
        catch (SqliteException ex) when (StoreIntegrity.IsDamage(ex))
        {
            lost.Add($"table {table}: {copied} rows copied, the rest could not be read: {StoreIntegrity.Reason(ex)}");
        }
    }

    /// <summary>An insert of the columns of <paramref name="sourceColumns"/> that <paramref name="table"/> has.</summary>
    private static RowInsert Insert(SqliteConnection target, SqliteTransaction transaction, string table, IReadOnlyList<string> sourceColumns)
    {
        var targetColumns = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        using (var info = target.CreateCommand())
        {
            info.Transaction = transaction;
            info.CommandText = $"SELECT name FROM pragma_table_info('{table}')";
            using var reader = info.ExecuteReader();
            while (reader.Read())
            {
                targetColumns.Add(reader.GetString(0));
            }
        }

        var shared = sourceColumns.Select((name, ordinal) => (name, ordinal)).Where(c => targetColumns.Contains(c.name)).ToList();
        var command = target.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"INSERT INTO \"{table}\" ({string.Join(", ", shared.Select(c => $"\"{c.name}\""))}) " +
            $"VALUES ({string.Join(", ", shared.Select((_, i) => "$p" + i.ToString(CultureInfo.InvariantCulture)))})";
        var parameters = shared.Select((_, i) => command.Parameters.Add(new SqliteParameter("$p" + i.ToString(CultureInfo.InvariantCulture), null))).ToList();
        return new RowInsert(command, parameters, shared.Select(c => c.ordinal).ToList());
    }

    /// <summary>One prepared insert; each row is bound by the source ordinals of the shared columns.</summary>
    private sealed class RowInsert(SqliteCommand command, List<SqliteParameter> parameters, List<int> ordinals) : IDisposable
    {
        public void Write(RowSet rows)
        {
            foreach (var row in rows.Rows)
            {
                Write(row);
            }
        }

        public void Write(object?[] row)
        {
            for (var i = 0; i < ordinals.Count; i++)
            {
                parameters[i].Value = row[ordinals[i]] ?? DBNull.Value;
            }

            command.ExecuteNonQuery();
        }

        public void Dispose() => command.Dispose();
    }
}

/// <summary>The rows one query read: its column names and values.</summary>
internal sealed record RowSet(IReadOnlyList<string> Columns, List<object?[]> Rows);

/// <summary>A run the file names but whose rows cannot all be read.</summary>
internal sealed record UnreadableRun(string Id, string Problem);

/// <summary>What a damaged file still holds: the runs that read whole, the ones that do not, and what stopped a listing early.</summary>
internal sealed record SalvageProbe(IReadOnlyList<string> Readable, IReadOnlyList<UnreadableRun> Unreadable, IReadOnlyList<string> ListingProblems);
