using Microsoft.Data.Sqlite;

namespace Orchestrator.Tests.Durability;

/// <summary>One row of the <c>journal</c> table, as a test reads it.</summary>
internal sealed record JournalRow(long Seq, string StepId, string Event, int Attempt, string? Error);

/// <summary>One row of the <c>runs</c> table, as a test reads it.</summary>
internal sealed record RunRow(string Id, string Status, string? Result, string? Error);

/// <summary>
/// Looks into a store's <c>journal.db</c> from outside, the way another process would: read-only and
/// unpooled, so it never writes, never checkpoints and never keeps the file open between looks.
/// </summary>
internal static class JournalProbe
{
    public static string DatabasePath(string store) => Path.Combine(store, "journal.db");

    /// <summary>How many steps the journal records as finished (Succeeded events); 0 while there is no journal yet.</summary>
    public static long CountSucceeded(string store)
    {
        if (!File.Exists(DatabasePath(store)))
        {
            return 0;
        }

        try
        {
            using var connection = Open(store);
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM journal WHERE event = 'Succeeded'";
            return (long)command.ExecuteScalar()!;
        }
        catch (SqliteException)
        {
            // The file exists but the writer has not created its tables yet.
            return 0;
        }
    }

    /// <summary>Whether the journal has an event <paramref name="eventName"/> for <paramref name="stepId"/>; false while there is no journal yet.</summary>
    public static bool HasEvent(string store, string stepId, string eventName)
    {
        if (!File.Exists(DatabasePath(store)))
        {
            return false;
        }

        try
        {
            using var connection = Open(store);
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM journal WHERE step_id = $step AND event = $event";
            command.Parameters.AddWithValue("$step", stepId);
            command.Parameters.AddWithValue("$event", eventName);
            return (long)command.ExecuteScalar()! > 0;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    /// <summary>SQLite's own full check of the file: "ok" when the database is intact.</summary>
    public static string IntegrityCheck(string store)
    {
        using var connection = Open(store);
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        using var reader = command.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read())
        {
            lines.Add(reader.GetString(0));
        }

        return string.Join("\n", lines);
    }

    public static IReadOnlyList<RunRow> Runs(string store)
    {
        using var connection = Open(store);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, status, result, error FROM runs ORDER BY started_at, id";
        using var reader = command.ExecuteReader();
        var runs = new List<RunRow>();
        while (reader.Read())
        {
            runs.Add(new RunRow(
                reader.GetString(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return runs;
    }

    public static IReadOnlyList<JournalRow> Events(string store, string runId)
    {
        using var connection = Open(store);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, step_id, event, attempt, error FROM journal WHERE run_id = $run ORDER BY seq";
        command.Parameters.AddWithValue("$run", runId);
        using var reader = command.ExecuteReader();
        var events = new List<JournalRow>();
        while (reader.Read())
        {
            events.Add(new JournalRow(
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetInt32(3),
                reader.IsDBNull(4) ? null : reader.GetString(4)));
        }

        return events;
    }

    /// <summary>The steps whose last event is Started: cut off mid-way, to run again on resume.</summary>
    public static IReadOnlyList<string> Unfinished(IEnumerable<JournalRow> events) =>
        events.GroupBy(e => e.StepId, StringComparer.Ordinal)
            .Where(g => g.MaxBy(e => e.Seq)!.Event == "Started")
            .Select(g => g.Key)
            .ToList();

    private static SqliteConnection Open(string store)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath(store),
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        connection.Open();
        return connection;
    }
}
