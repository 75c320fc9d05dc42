using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Orchestrator.Core.Journal;

/// <summary>
/// Creates the journal's tables and checks its format version, so an older or newer file is never misread.
/// An older format this engine knows is migrated in place, in one transaction.
/// </summary>
/// <remarks>
/// Formats: 1 — <c>meta</c>, <c>runs</c>, <c>journal</c>. 2 — <c>runs.host</c> and <c>runs.pid</c> (the machine
/// and process that last ran the run) and an index on <c>journal (run_id, step_id)</c> for replay reads. 3 — what the
/// engine learns across runs: <c>learning</c> (phase outcomes per strategy and agent), <c>baselines</c> (metric means
/// and variances) and <c>recommendations</c> (the review queue). 4 — <c>journal</c> is clustered on its key
/// <c>(run_id, seq)</c> (<c>WITHOUT ROWID</c>) and loses the <c>(run_id, step_id)</c> index, which no read used: every
/// step writes two rows, and each row now updates one b-tree instead of three. 5 — large values stored once:
/// <c>payload_values</c> (a value's JSON by its SHA-256) and <c>run_values</c> (which runs refer to which values), so
/// <c>runs prune</c> can drop what nothing refers to; and <c>runs.report_error</c>, why a run's report was not written.
/// 6 — the journal as a hash chain per run (<see cref="JournalChain"/>): <c>journal.chain</c>, <c>runs.final_hash</c> (the
/// last row's chain when the run ended) and <c>runs.chain_from</c> (the first chained seq). Rows journaled before format 6
/// are left unchained rather than vouched for now: a migrated run's <c>chain_from</c> is one past its last row.
/// 7 — what runs wait for (<see cref="Waits.IWaitStore"/>): <c>waits</c> (one row per wait step: kind, name, data, due time,
/// an approval's decision) and <c>signals</c> (events sent to a run, kept until a wait takes them); the run status
/// <c>Waiting</c>; and <c>schedules</c> (cron schedules a host starts runs by).
/// </remarks>
internal static class JournalSchema
{
    /// <summary>The oldest format this engine can migrate from.</summary>
    public const int OldestFormatVersion = 1;

    private const int SqliteNotADatabase = 26;

    /// <summary>The journal table's columns and key (format 4): clustered on (run_id, seq), the order every read wants.</summary>
    private const string JournalTable = """
        (run_id TEXT NOT NULL, seq INTEGER NOT NULL, step_id TEXT NOT NULL, event TEXT NOT NULL, parent_id TEXT, name TEXT NOT NULL,
         kind TEXT NOT NULL, agent TEXT, attempt INTEGER NOT NULL, payload TEXT, error TEXT, at INTEGER NOT NULL,
         PRIMARY KEY (run_id, seq)) WITHOUT ROWID;

        """;

    /// <summary>Makes the journal at <paramref name="path"/> current.</summary>
    /// <returns>The format the file was migrated from, or null if it was created or already current.</returns>
    public static int? Ensure(SqliteConnection connection, string path)
    {
        try
        {
            Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;");

            // The common case — an existing, current journal — takes no write lock.
            if (ReadVersion(connection, path, transaction: null) == SqliteJournal.FormatVersion)
            {
                return null;
            }

            // Creating or migrating: the write lock (BEGIN IMMEDIATE), then decide again, so that of two
            // processes opening the same old or new file at once exactly one does the work.
            using var transaction = connection.BeginTransaction(deferred: false);
            int? migratedFrom = null;
            switch (ReadVersion(connection, path, transaction))
            {
                case null:
                    Create(connection, transaction);
                    break;
                case 1:
                    migratedFrom ??= 1;
                    MigrateFrom1To2(connection, transaction, path);
                    goto case 2;
                case 2:
                    migratedFrom ??= 2;
                    CreateLearningTables(connection, transaction);
                    goto case 3;
                case 3:
                    migratedFrom ??= 3;
                    ClusterJournal(connection, transaction, path);
                    goto case 4;
                case 4:
                    migratedFrom ??= 4;
                    Execute(connection, "ALTER TABLE runs ADD COLUMN report_error TEXT;", transaction);
                    CreateValueTables(connection, transaction);
                    goto case 5;
                case 5:
                    migratedFrom ??= 5;
                    AddChains(connection, transaction);
                    goto case 6;
                case 6:
                    migratedFrom ??= 6;
                    CreateWaitTables(connection, transaction);
                    goto case 7;
                case 7:
                    migratedFrom ??= 7;
                    CreateLearningHistory(connection, transaction);
                    Execute(connection, $"UPDATE meta SET value = '{SqliteJournal.FormatVersion}' WHERE key = 'format_version'", transaction);
                    break;
            }

            transaction.Commit();
            return migratedFrom;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteNotADatabase)
        {
            throw new JournalFormatException($"{path}: not a journal: the file is not a SQLite database.", ex);
        }
    }

    /// <summary>The file's format, or null for an empty database; refuses any format this engine cannot read.</summary>
    private static int? ReadVersion(SqliteConnection connection, string path, SqliteTransaction? transaction)
    {
        var tables = new List<string>();
        using (var list = connection.CreateCommand())
        {
            list.Transaction = transaction;
            list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'";
            using var reader = list.ExecuteReader();
            while (reader.Read())
            {
                tables.Add(reader.GetString(0));
            }
        }

        if (!tables.Contains("meta"))
        {
            return tables.Count == 0
                ? null
                : throw new JournalFormatException(
                    $"{path}: not an orchestrator journal: it has tables ({string.Join(", ", tables.Order(StringComparer.Ordinal))}) but no format version.");
        }

        using var read = connection.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = "SELECT value FROM meta WHERE key = 'format_version'";
        var found = read.ExecuteScalar();
        if (found is null or DBNull)
        {
            // An empty meta table and nothing else is a journal whose creation never committed: start it afresh.
            return tables.Count == 1
                ? null
                : throw new JournalFormatException($"{path}: not a readable journal: its meta table has no format_version.");
        }

        var text = Convert.ToString(found, CultureInfo.InvariantCulture);
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            throw new JournalFormatException($"{path}: not a readable journal: its format_version '{text}' is not a format number.");
        }

        if (version > SqliteJournal.FormatVersion)
        {
            throw new JournalFormatException(
                $"{path}: journal format {version} is newer than this engine understands ({SqliteJournal.FormatVersion}); use a newer orchestrator.");
        }

        if (version < OldestFormatVersion)
        {
            throw new JournalFormatException(
                $"{path}: journal format {version} is not a format this engine knows (formats {OldestFormatVersion} to {SqliteJournal.FormatVersion}); the file is damaged or not an orchestrator journal.");
        }

        return version;
    }

    private static void Create(SqliteConnection connection, SqliteTransaction transaction)
    {
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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
                report TEXT,
                host TEXT,
                pid INTEGER,
                report_error TEXT);
            """ + "CREATE TABLE IF NOT EXISTS journal " + JournalTable, transaction);
        CreateLearningTables(connection, transaction);
        CreateValueTables(connection, transaction);
        AddChains(connection, transaction);
        CreateWaitTables(connection, transaction);
        CreateLearningHistory(connection, transaction);
        Execute(connection, $"INSERT OR REPLACE INTO meta (key, value) VALUES ('format_version', '{SqliteJournal.FormatVersion}')", transaction);
    }

    private static void CreateLearningTables(SqliteConnection connection, SqliteTransaction transaction) => Execute(connection, """
        CREATE TABLE IF NOT EXISTS learning (
            phase TEXT NOT NULL,
            strategy TEXT NOT NULL,
            agent TEXT NOT NULL,
            runs INTEGER NOT NULL,
            successes INTEGER NOT NULL,
            items INTEGER NOT NULL,
            failed_items INTEGER NOT NULL,
            total_ms REAL NOT NULL,
            last_at INTEGER NOT NULL,
            PRIMARY KEY (phase, strategy, agent));
        CREATE TABLE IF NOT EXISTS baselines (
            metric TEXT PRIMARY KEY,
            count INTEGER NOT NULL,
            mean REAL NOT NULL,
            variance REAL NOT NULL,
            updated_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS recommendations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at INTEGER NOT NULL,
            run_id TEXT NOT NULL,
            phase TEXT NOT NULL,
            strategy TEXT NOT NULL,
            kind TEXT NOT NULL,
            risk TEXT NOT NULL,
            summary TEXT NOT NULL,
            change TEXT NOT NULL,
            status TEXT NOT NULL,
            decided_at INTEGER);
        """, transaction);

    /// <summary>
    /// Format 8: each phase's outcome per run, newest last, so that selection can weigh recent runs above old ones (a
    /// half-life in runs). The totals a store already holds become one old row each.
    /// </summary>
    private static void CreateLearningHistory(SqliteConnection connection, SqliteTransaction transaction) => Execute(connection, """
        CREATE TABLE IF NOT EXISTS learning_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL,
            phase TEXT NOT NULL,
            strategy TEXT NOT NULL,
            agent TEXT NOT NULL,
            succeeded INTEGER NOT NULL,
            items INTEGER NOT NULL,
            failed_items INTEGER NOT NULL,
            duration_ms REAL NOT NULL,
            cost REAL NOT NULL,
            at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS learning_runs_phase ON learning_runs (phase, id);
        """ + LearningHistorySeed, transaction);

    /// <summary>The totals learned before format 8, as one row each: the past counts, as one old run.</summary>
    public const string LearningHistorySeed = """
        INSERT INTO learning_runs (run_id, phase, strategy, agent, succeeded, items, failed_items, duration_ms, cost, at)
        SELECT '', phase, strategy, agent, CASE WHEN successes = runs THEN 1 ELSE 0 END, items, failed_items, total_ms, 0, last_at FROM learning;
        """;

    /// <summary>Values too large to repeat in every row that holds them (see <see cref="PayloadValues"/>), and the runs that refer to each.</summary>
    private static void CreateValueTables(SqliteConnection connection, SqliteTransaction transaction) => Execute(connection, """
        CREATE TABLE IF NOT EXISTS payload_values (hash TEXT PRIMARY KEY, size INTEGER NOT NULL, json TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS run_values (run_id TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (run_id, hash)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS run_values_hash ON run_values (hash);
        """, transaction);

    /// <summary>
    /// Format 7: waits, signals and schedules. A wait's times are Unix milliseconds; <c>closed_at</c> is set when its step ended, so
    /// the open ones are what <c>review</c> lists and what a host wakes runs for.
    /// </summary>
    private static void CreateWaitTables(SqliteConnection connection, SqliteTransaction transaction) => Execute(connection, """
        CREATE TABLE IF NOT EXISTS waits (
            run_id TEXT NOT NULL,
            step_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            data TEXT,
            created_at INTEGER NOT NULL,
            due_at INTEGER,
            decision TEXT,
            decided_at INTEGER,
            closed_at INTEGER,
            PRIMARY KEY (run_id, step_id)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS signals (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL,
            name TEXT NOT NULL,
            data TEXT,
            sent_at INTEGER NOT NULL,
            consumed_by TEXT,
            consumed_at INTEGER);
        CREATE INDEX IF NOT EXISTS signals_run_name ON signals (run_id, name, id);
        CREATE TABLE IF NOT EXISTS schedules (
            name TEXT PRIMARY KEY,
            script TEXT NOT NULL,
            cron TEXT NOT NULL,
            input TEXT,
            created_at INTEGER NOT NULL,
            last_occurrence INTEGER,
            last_run_id TEXT);
        """, transaction);

    /// <summary>
    /// Format 6: the chain columns. The runs already journaled keep their rows unchained: <c>chain_from</c> is set one past
    /// their last row, so a resumed old run chains what it appends from then on.
    /// </summary>
    private static void AddChains(SqliteConnection connection, SqliteTransaction transaction)
    {
        Execute(connection, """
            ALTER TABLE journal ADD COLUMN chain BLOB;
            ALTER TABLE runs ADD COLUMN final_hash BLOB;
            ALTER TABLE runs ADD COLUMN chain_from INTEGER NOT NULL DEFAULT 1;
            """, transaction);
        MarkUnchained(connection, transaction);
    }

    /// <summary>Marks the runs just copied into a store from a file without chains as unchained, as the migration does.</summary>
    public static void MarkUnchained(SqliteConnection connection, SqliteTransaction transaction) => Execute(
        connection,
        "UPDATE runs SET chain_from = 1 + COALESCE((SELECT max(seq) FROM journal WHERE journal.run_id = runs.id), 0)",
        transaction);

    private static void MigrateFrom1To2(SqliteConnection connection, SqliteTransaction transaction, string path)
    {
        try
        {
            Execute(connection, """
                ALTER TABLE runs ADD COLUMN host TEXT;
                ALTER TABLE runs ADD COLUMN pid INTEGER;
                CREATE INDEX IF NOT EXISTS journal_run_step ON journal (run_id, step_id);
                UPDATE meta SET value = '2' WHERE key = 'format_version';
                """, transaction);
        }
        catch (SqliteException ex)
        {
            // The transaction rolls back: the file stays a format-1 journal.
            throw new JournalFormatException($"{path}: could not migrate the journal from format 1 to 2, so it is left at format 1: {ex.Message}", ex);
        }
    }

    /// <summary>Format 3 to 4: the journal's rows move, in order, into a table clustered on (run_id, seq).</summary>
    private static void ClusterJournal(SqliteConnection connection, SqliteTransaction transaction, string path)
    {
        try
        {
            Execute(connection, "CREATE TABLE journal_clustered " + JournalTable + """
                INSERT INTO journal_clustered
                    SELECT run_id, seq, step_id, event, parent_id, name, kind, agent, attempt, payload, error, at FROM journal ORDER BY run_id, seq;
                DROP TABLE journal;
                ALTER TABLE journal_clustered RENAME TO journal;
                """, transaction);
        }
        catch (SqliteException ex)
        {
            throw new JournalFormatException($"{path}: could not migrate the journal from format 3 to 4, so it is left as it was: {ex.Message}", ex);
        }
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
public sealed class JournalFormatException : Exception
{
    public JournalFormatException(string message)
        : base(message)
    {
    }

    public JournalFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
