using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Orchestrator.Core.Journal;

/// <summary>Creates the journal's tables and checks its format version, so an older or newer file is never misread.</summary>
internal static class JournalSchema
{
    public static void Ensure(SqliteConnection connection, string path)
    {
        Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;");
        Execute(connection, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");

        using var read = connection.CreateCommand();
        read.CommandText = "SELECT value FROM meta WHERE key = 'format_version'";
        var found = read.ExecuteScalar() as string;
        if (found is null)
        {
            Create(connection);
            return;
        }

        var version = int.Parse(found, CultureInfo.InvariantCulture);
        if (version > SqliteJournal.FormatVersion)
        {
            throw new JournalFormatException(
                $"{path}: journal format {version} is newer than this engine understands ({SqliteJournal.FormatVersion}); use a newer orchestrator.");
        }

        // Version 1 is the first format; migrations from older versions go here as they appear.
    }

    private static void Create(SqliteConnection connection)
    {
        using var transaction = connection.BeginTransaction();
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS runs (
                id TEXT PRIMARY KEY,
                script TEXT NOT NULL,
                script_hash TEXT NOT NULL,
                language TEXT NOT NULL,
                engine_version TEXT NOT NULL,
                status TEXT NOT NULL,
                input TEXT,
                result TEXT,
                error TEXT,
                started_at INTEGER NOT NULL,
                ended_at INTEGER,
                report TEXT);
            CREATE TABLE IF NOT EXISTS journal (
                run_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                step_id TEXT NOT NULL,
                event TEXT NOT NULL,
                parent_id TEXT,
                name TEXT NOT NULL,
                kind TEXT NOT NULL,
                agent TEXT,
                attempt INTEGER NOT NULL,
                payload TEXT,
                error TEXT,
                at INTEGER NOT NULL,
                PRIMARY KEY (run_id, seq));
            """, transaction);
        Execute(connection, $"INSERT INTO meta (key, value) VALUES ('format_version', '{SqliteJournal.FormatVersion}')", transaction);
        transaction.Commit();
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

/// <summary>The journal file is of a format this engine cannot read.</summary>
public sealed class JournalFormatException(string message) : Exception(message);
