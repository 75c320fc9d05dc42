using Microsoft.Data.Sqlite;

namespace Orchestrator.Tests.Support;

/// <summary>Plain SQL on a journal file, from outside the engine: what a test reads back, or an edit it makes behind the engine's back.</summary>
internal static class SqlFile
{
    /// <summary>The first column of the first row; null for none or NULL.</summary>
    public static object? Scalar(string path, string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = Open(path);
        using var command = Command(connection, sql, parameters);
        var found = command.ExecuteScalar();
        return found is DBNull ? null : found;
    }

    /// <summary>Runs <paramref name="sql"/>; returns the rows it changed.</summary>
    public static int Execute(string path, string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = Open(path);
        using var command = Command(connection, sql, parameters);
        return command.ExecuteNonQuery();
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        return connection;
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }
}
