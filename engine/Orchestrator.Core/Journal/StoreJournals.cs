using Orchestrator.Core.Journal.Postgres;
using Orchestrator.Core.Secrets;

namespace Orchestrator.Core.Journal;

/// <summary>Opens the journal a <c>--store</c> names: a PostgreSQL database (a connection string or URL), else a store folder.</summary>
internal static class StoreJournals
{
    /// <param name="create">Whether a PostgreSQL database without a store gets one (a folder always does; the CLI checks first).</param>
    public static IStoreJournal Open(string store, SecretRegistry? secrets = null, bool create = true) =>
        PostgresConnection.IsPostgres(store) ? PostgresJournal.Open(store, secrets, create) : SqliteJournal.Open(Path.GetFullPath(store), secrets);
}
