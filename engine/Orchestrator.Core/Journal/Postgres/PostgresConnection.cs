using System.Net.Sockets;
using Npgsql;

namespace Orchestrator.Core.Journal.Postgres;

/// <summary>
/// A <c>--store</c> that names a PostgreSQL database rather than a folder: a keyword connection string
/// (<c>Host=…;Database=…</c>) or a URL (<c>postgres://user:password@host:port/database?sslmode=…</c>), which is converted.
/// </summary>
internal static class PostgresConnection
{
    /// <summary>Whether <paramref name="store"/> names a PostgreSQL database rather than a store folder.</summary>
    public static bool IsPostgres(string store) =>
        store.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
        || store.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
        || (store.Contains('=') && (store.Contains("host=", StringComparison.OrdinalIgnoreCase) || store.Contains("server=", StringComparison.OrdinalIgnoreCase)));

    /// <summary>
    /// The Npgsql connection string <paramref name="store"/> names. A malformed one is a <see cref="ArgumentException"/> whose
    /// message never holds the password.
    /// </summary>
    public static NpgsqlConnectionStringBuilder Parse(string store)
    {
        var builder = store.Contains("://", StringComparison.Ordinal) ? FromUrl(store) : FromKeywords(store);
        if (string.IsNullOrEmpty(builder.Host))
        {
            throw new ArgumentException("it names no host");
        }

        // Unless told otherwise: fail fast on an unreachable server, and say who connects in pg_stat_activity.
        if (!store.Contains("timeout", StringComparison.OrdinalIgnoreCase))
        {
            builder.Timeout = 10;
        }

        builder.ApplicationName ??= "orchestrator";
        return builder;
    }

    /// <summary>The store as messages show it: the connection string with its password masked.</summary>
    public static string Describe(NpgsqlConnectionStringBuilder builder)
    {
        var shown = new NpgsqlConnectionStringBuilder(builder.ConnectionString);
        if (!string.IsNullOrEmpty(shown.Password))
        {
            shown.Password = "***";
        }

        shown.Remove("Application Name");
        if (shown.Timeout == 10)
        {
            shown.Remove("Timeout");
        }

        return shown.ConnectionString;
    }

    /// <summary>
    /// Why the server could not be used, in a few words: unreachable, no such database, refused credentials, or what
    /// PostgreSQL said. Null when <paramref name="ex"/> is not about the connection.
    /// </summary>
    public static string? Reason(Exception ex) => ex switch
    {
        PostgresException { SqlState: "28P01" or "28000" } pg => $"the server refused the credentials ({pg.MessageText})",
        PostgresException { SqlState: "3D000" } pg => $"no such database ({pg.MessageText})",
        PostgresException pg => $"{pg.SqlState}: {pg.MessageText}",
        NpgsqlException { InnerException: SocketException socket } => $"the server cannot be reached ({socket.Message})",
        NpgsqlException { InnerException: TimeoutException } => "the server did not answer in time",
        NpgsqlException npgsql => npgsql.Message,
        _ => null,
    };

    private static NpgsqlConnectionStringBuilder FromKeywords(string store)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder(store);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            // Npgsql's message may quote the string, password and all.
            throw new ArgumentException("it is not a valid connection string (Host=…;Database=…)", ex);
        }
    }

    /// <summary>
    /// <c>postgres://user:password@host:port/database?key=value</c>: user and password URL-decoded, query keys as connection
    /// string keywords (and libpq's <c>sslmode</c> and <c>search_path</c>).
    /// </summary>
    private static NpgsqlConnectionStringBuilder FromUrl(string store)
    {
        if (!Uri.TryCreate(store, UriKind.Absolute, out var uri) || (uri.Scheme != "postgres" && uri.Scheme != "postgresql"))
        {
            throw new ArgumentException("it is not a valid postgres:// URL (postgres://user:password@host:port/database)");
        }

        var builder = new NpgsqlConnectionStringBuilder { Host = uri.Host };
        if (!uri.IsDefaultPort && uri.Port > 0)
        {
            builder.Port = uri.Port;
        }

        if (uri.UserInfo.Length > 0)
        {
            var (user, password) = uri.UserInfo.Split(':', 2) is [var u, var p] ? (u, p) : (uri.UserInfo, null);
            builder.Username = Uri.UnescapeDataString(user);
            if (password is not null)
            {
                builder.Password = Uri.UnescapeDataString(password);
            }
        }

        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = pair.Split('=', 2) is [var k, var v] ? (k, v) : (pair, "");
            try
            {
                builder[Uri.UnescapeDataString(key) switch { "sslmode" => "SSL Mode", "search_path" => "Search Path", var other => other }] = Uri.UnescapeDataString(value);
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
            {
                throw new ArgumentException($"its URL parameter '{Uri.UnescapeDataString(key)}' is not one PostgreSQL connections take", ex);
            }
        }

        return builder;
    }
}
