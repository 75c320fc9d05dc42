using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Orchestrator.Core.Journal;

/// <summary>
/// Keeps a damaged journal from being written into: before the journal is opened for writing, its file is checked
/// with SQLite's <c>quick_check</c> on a read-only connection, unless it is exactly as a clean close left it.
/// </summary>
/// <remarks>
/// A clean close is one after which no other connection had the file open (SQLite then checkpoints and removes the
/// WAL): the closer records the file's length and last-write time in <c>journal.clean</c> next to it. A file that
/// still matches was not touched since, so the check (whose cost grows with the file) is skipped. Another process,
/// a crash or an edit changes the file without recording it, so the next opener checks once. The check reads a
/// consistent snapshot, so a concurrent writer never makes it report damage.
/// </remarks>
internal static class StoreIntegrity
{
    public const string JournalFileName = "journal.db";

    private const string CleanMarkerFileName = "journal.clean";
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADatabase = 26;

    /// <summary>Throws <see cref="StoreDamagedException"/> if the journal in <paramref name="storeDirectory"/> exists and is damaged.</summary>
    public static void EnsureIntact(string storeDirectory)
    {
        var path = Path.Combine(storeDirectory, JournalFileName);
        if (!File.Exists(path) || IsAsLeftByCleanClose(storeDirectory, path))
        {
            return;
        }

        // A file that is no database at all is refused by the schema check, before it writes, as not a journal.
        if (Check(path, quick: true, limit: 1) is [var first, ..] && first != NotADatabase(path))
        {
            throw new StoreDamagedException(storeDirectory, first.StartsWith(path, StringComparison.Ordinal) ? first : $"{path}: {first}");
        }
    }

    /// <summary>
    /// SQLite's integrity check of <paramref name="journalPath"/> on a read-only connection: the problems it names,
    /// at most <paramref name="limit"/>, or none for a healthy file. <paramref name="quick"/> skips the index checks.
    /// </summary>
    public static IReadOnlyList<string> Check(string journalPath, bool quick, int limit)
    {
        var problems = new List<string>();
        try
        {
            using var connection = OpenReadOnly(journalPath);
            using (var command = connection.CreateCommand())
            {
                command.CommandText = string.Create(CultureInfo.InvariantCulture, $"PRAGMA {(quick ? "quick_check" : "integrity_check")}({limit})");
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    // One row may hold several lines, the first naming the database ("*** in database main ***").
                    problems.AddRange(reader.GetString(0).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Where(line => !line.StartsWith("***", StringComparison.Ordinal)));
                }
            }

            return problems is ["ok"] ? [] : NameTrees(connection, problems);
        }
        catch (SqliteException ex) when (IsDamage(ex))
        {
            // The check stopped at a page it could not read; the quick one, which reads less, may name more pages first.
            if (problems.Count == 0 && !quick && Check(journalPath, quick: true, limit) is [var first, ..] named && first != Describe(ex, journalPath))
            {
                return named;
            }

            problems.Add(Describe(ex, journalPath));
            using var connection = OpenReadOnly(journalPath);
            return NameTrees(connection, problems);
        }
    }

    /// <summary>Records the journal's file as this clean close leaves it; only when no other connection still has it open.</summary>
    public static void RecordCleanClose(string storeDirectory)
    {
        var path = Path.Combine(storeDirectory, JournalFileName);
        var marker = Path.Combine(storeDirectory, CleanMarkerFileName);
        try
        {
            if (File.Exists(path + "-wal"))
            {
                // Another connection is still open (SQLite removes the WAL when the last one closes): its closer records it.
                File.Delete(marker);
                return;
            }

            var temporary = marker + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
            File.WriteAllText(temporary, Fingerprint(new FileInfo(path)));
            File.Move(temporary, marker, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Without a marker the next open checks the file: slower, never wrong.
        }
    }

    /// <summary>A connection that cannot write to the file, not even a checkpoint.</summary>
    public static SqliteConnection OpenReadOnly(string journalPath)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = journalPath,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>The file's tables, by name, without SQLite's own.</summary>
    public static List<string> TableNames(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    /// <summary>SQLite's own word that the file is damaged or not a database at all.</summary>
    public static bool IsDamage(SqliteException ex) => (ex.SqliteErrorCode & 0xFF) is SqliteCorrupt or SqliteNotADatabase;

    /// <summary>The damage SQLite met somewhere in <paramref name="ex"/> (wrapped or aggregated), or null.</summary>
    public static SqliteException? FindDamage(Exception? ex) => ex switch
    {
        SqliteException sqlite when IsDamage(sqlite) => sqlite,
        AggregateException aggregate => aggregate.InnerExceptions.Select(FindDamage).FirstOrDefault(d => d is not null),
        null => null,
        _ => FindDamage(ex.InnerException),
    };

    /// <summary>What the damage is, in words, without SQLite's "SQLite Error 11:" prefix.</summary>
    public static string Describe(SqliteException ex, string journalPath) => (ex.SqliteErrorCode & 0xFF) == SqliteNotADatabase
        ? NotADatabase(journalPath)
        : $"{journalPath}: {Reason(ex)}";

    /// <summary>SQLite's message alone: "database disk image is malformed" rather than "SQLite Error 11: '…'.".</summary>
    public static string Reason(SqliteException ex) => ex.Message.Split(": ", 2)[^1].Trim().Trim('\'', '.');

    private static string NotADatabase(string journalPath) => $"{journalPath}: not a journal: the file is not a SQLite database";

    /// <summary>"Tree 6 page 27: …" becomes "table journal, page 27: …" where the schema can still be read.</summary>
    private static List<string> NameTrees(SqliteConnection connection, List<string> problems)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT rootpage, type, name FROM sqlite_master WHERE rootpage > 0";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                names[$"Tree {reader.GetInt64(0).ToString(CultureInfo.InvariantCulture)} "] = $"{reader.GetString(1)} {reader.GetString(2)}, ";
            }
        }
        catch (SqliteException ex) when (IsDamage(ex))
        {
            return problems;
        }

        return [.. problems.Select(p => names.FirstOrDefault(n => p.StartsWith(n.Key, StringComparison.Ordinal)) is { Key: not null } tree
            ? tree.Value + p[tree.Key.Length..]
            : p)];
    }

    private static bool IsAsLeftByCleanClose(string storeDirectory, string path)
    {
        try
        {
            var recorded = File.ReadAllText(Path.Combine(storeDirectory, CleanMarkerFileName));
            return recorded == Fingerprint(new FileInfo(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string Fingerprint(FileInfo file) =>
        string.Create(CultureInfo.InvariantCulture, $"{file.Length} {file.LastWriteTimeUtc.Ticks}");
}

/// <summary>The store's journal is damaged: nothing may be written into it until it is salvaged.</summary>
internal sealed class StoreDamagedException(string storeDirectory, string damage, Exception? innerException = null)
    : Exception($"store '{storeDirectory}' is damaged: {damage}; run 'orchestrator store check'", innerException)
{
    public string StoreDirectory { get; } = storeDirectory;

    /// <summary>The damage SQLite reported while the store was in use.</summary>
    public static StoreDamagedException From(string storeDirectory, SqliteException damage) =>
        new(storeDirectory, StoreIntegrity.Describe(damage, Path.Combine(storeDirectory, StoreIntegrity.JournalFileName)), damage);
}
