using Orchestrator.Core.Journal.Postgres;

namespace Orchestrator.Cli.Hosting;

/// <summary>
/// What a <c>--store</c> names: a store folder, or a PostgreSQL database (a connection string or a <c>postgres://</c> URL).
/// A PostgreSQL store's files that are not data — reports, logs, the compile cache, the host file — stay on this machine,
/// in <c>.orchestrator/postgres/HOST_PORT_DATABASE</c> (and <c>_SEARCHPATH</c> when it names one) under the working folder.
/// </summary>
internal static class StoreLocation
{
    /// <summary>The store folder, or the local folder of a PostgreSQL store.</summary>
    public static string Folder(string store)
    {
        if (!PostgresConnection.IsPostgres(store))
        {
            return Path.GetFullPath(store);
        }

        try
        {
            var builder = PostgresConnection.Parse(store);
            var name = string.Join('_', new[] { builder.Host, builder.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), builder.Database ?? builder.Username ?? "postgres", builder.SearchPath }.Where(p => !string.IsNullOrEmpty(p)));
            var safe = string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '-'));
            return Path.GetFullPath(Path.Combine(CommonOptions.DefaultStore, "postgres", safe));
        }
        catch (ArgumentException ex)
        {
            throw new CliException($"--store: {ex.Message}");
        }
    }

    /// <summary>The store as messages name it: the folder, or the database with its password masked.</summary>
    public static string Describe(string store)
    {
        if (!PostgresConnection.IsPostgres(store))
        {
            return Path.GetFullPath(store);
        }

        try
        {
            return PostgresConnection.Describe(PostgresConnection.Parse(store));
        }
        catch (ArgumentException ex)
        {
            throw new CliException($"--store: {ex.Message}");
        }
    }
}
