using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Cli.Commands.Runs;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Journal;

namespace Orchestrator.Cli.Commands.Store;

/// <summary>
/// <c>orchestrator store stats</c>: the journal's size, each table's rows and bytes (runs, journal, learning, the review
/// queue, and any other table the format has), runs by status and the largest runs.
/// </summary>
/// <remarks>Bytes are those of the stored values (what the rows hold), not of SQLite's pages.</remarks>
internal static class StoreStatsCommand
{
    public static Command Create(CliConsole console)
    {
        var store = CommonOptions.Store();
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables." };
        var top = new Option<int>("--top") { Description = "How many of the largest runs to list.", DefaultValueFactory = _ => 10 };
        var command = new Command("stats", "Show the journal's size, its tables, runs by status and the largest runs (by journal bytes).") { store, json, top };
        command.SetAction((parse, ct) => ShowAsync(console, parse.GetValue(store)!, parse.GetValue(json), parse.GetValue(top), ct));
        return command;
    }

    private static async Task<int> ShowAsync(CliConsole console, string storeDirectory, bool json, int top, CancellationToken ct)
    {
        if (top < 0)
        {
            throw new CliException($"--top must be 0 or more, not {top}.");
        }

        await using var session = StoreSession.OpenExisting(StoreSession.RequireExisting(storeDirectory), console);
        var runs = (await session.Journal.ListRunsAsync(ct)).ToDictionary(r => r.Id, StringComparer.Ordinal);
        var path = session.Journal.Location;
        var fileBytes = new FileInfo(path).Length;
        var walBytes = File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0;

        List<(string Name, long Rows, long Bytes)> tables;
        List<(string Id, long Rows, long Bytes)> largest;
        using (var connection = StoreIntegrity.OpenReadOnly(path))
        {
            tables = [.. StoreIntegrity.TableNames(connection).Select(t => Measure(connection, t))];
            largest = LargestRuns(connection, top);
        }

        var byStatus = runs.Values.GroupBy(r => RunsCommand.Status(r, sharedStore: false)).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (Status: g.Key, Count: g.Count())).ToList();
        if (json)
        {
            console.Line(new JsonObject
            {
                ["store"] = session.Directory,
                ["journalBytes"] = fileBytes,
                ["walBytes"] = walBytes,
                ["tables"] = new JsonArray([.. tables.Select(t => (JsonNode)new JsonObject { ["name"] = t.Name, ["rows"] = t.Rows, ["bytes"] = t.Bytes })]),
                ["runsByStatus"] = new JsonObject(byStatus.Select(s => KeyValuePair.Create(s.Status, (JsonNode?)s.Count))),
                ["largestRuns"] = new JsonArray([.. largest.Select(r => (JsonNode)new JsonObject
                {
                    ["id"] = r.Id,
                    ["status"] = runs.TryGetValue(r.Id, out var run) ? RunsCommand.Status(run, sharedStore: false) : null,
                    ["rows"] = r.Rows,
                    ["bytes"] = r.Bytes,
                    ["script"] = run?.Script,
                })]),
            }.ToJsonString());
            return ExitCodes.Success;
        }

        console.Line($"store    {session.Directory}");
        console.Line($"journal  {Size(fileBytes)} ({StoreIntegrity.JournalFileName}) + {Size(walBytes)} (WAL)");
        console.Line("");
        TextTable.Write(console, ["TABLE", "ROWS", "BYTES"], [.. tables.Select(t => new[] { t.Name, Count(t.Rows), Size(t.Bytes) })]);
        console.Line("");
        TextTable.Write(console, ["STATUS", "RUNS"], [.. byStatus.Select(s => new[] { s.Status, Count(s.Count) })]);
        if (largest.Count > 0)
        {
            console.Line("");
            TextTable.Write(console, ["LARGEST RUNS", "STATUS", "ROWS", "BYTES", "SCRIPT"], [.. largest.Select(r => new[]
            {
                r.Id,
                runs.TryGetValue(r.Id, out var run) ? RunsCommand.Status(run, sharedStore: false) : "(no run record)",
                Count(r.Rows),
                Size(r.Bytes),
                run is null ? "" : Path.GetRelativePath(Environment.CurrentDirectory, run.Script),
            })]);
        }

        return ExitCodes.Success;
    }

    /// <summary>A table's rows and the bytes its values take, whatever its columns.</summary>
    private static (string Name, long Rows, long Bytes) Measure(SqliteConnection connection, string table)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*), {BytesOf(connection, table)} FROM \"{table}\"";
        using var reader = command.ExecuteReader();
        reader.Read();
        return (table, reader.GetInt64(0), reader.IsDBNull(1) ? 0 : reader.GetInt64(1));
    }

    private static List<(string Id, long Rows, long Bytes)> LargestRuns(SqliteConnection connection, int top)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT run_id, COUNT(*), {BytesOf(connection, "journal")} AS bytes FROM journal GROUP BY run_id ORDER BY bytes DESC, run_id LIMIT $top";
        command.Parameters.AddWithValue("$top", top);
        using var reader = command.ExecuteReader();
        var runs = new List<(string, long, long)>();
        while (reader.Read())
        {
            runs.Add((reader.GetString(0), reader.GetInt64(1), reader.IsDBNull(2) ? 0 : reader.GetInt64(2)));
        }

        return runs;
    }

    /// <summary>The SQL sum of the bytes of every column of <paramref name="table"/>'s rows.</summary>
    private static string BytesOf(SqliteConnection connection, string table)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM pragma_table_info($table)";
        command.Parameters.AddWithValue("$table", table);
        using var reader = command.ExecuteReader();
        var columns = new List<string>();
        while (reader.Read())
        {
            columns.Add($"COALESCE(length(CAST(\"{reader.GetString(0)}\" AS BLOB)), 0)");
        }

        return columns.Count == 0 ? "0" : $"SUM({string.Join(" + ", columns)})";
    }

    private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Size(long bytes) => bytes switch
    {
        < 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.#} KiB"),
        < 1024L * 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.#} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):0.##} GiB"),
    };
}
