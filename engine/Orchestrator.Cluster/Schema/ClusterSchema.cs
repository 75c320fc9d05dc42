using Npgsql;

namespace Orchestrator.Cluster.Schema;

/// <summary>
/// The cluster's tables in the store's PostgreSQL database, made once by whichever node starts first. Orleans' ADO.NET
/// clustering reads its statements from <c>OrleansQuery</c> and expects its membership tables to exist (the package
/// ships no script that runs itself), so they are ours to create; the statements below keep the provider's contract
/// (query keys, parameter and column names) for Microsoft.Orleans.Clustering.AdoNet 10.4. Beside them: the run
/// leases (who drives which run) and the node each agent step ran on.
/// </summary>
internal static class ClusterSchema
{
    /// <summary>Creates what is missing; concurrent nodes wait for each other on an advisory lock.</summary>
    public static async Task EnsureAsync(NpgsqlDataSource database, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext('orchestrator.cluster'))", connection, transaction))
        {
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // The lease keeper looks for waiting runs nobody holds on every tick: found by this index, not by reading every run.
        await using (var waiting = new NpgsqlCommand(
            "DO $$ BEGIN IF to_regclass('runs') IS NOT NULL THEN CREATE INDEX IF NOT EXISTS cluster_waiting_runs ON runs (id) WHERE status = 'Waiting'; END IF; END $$",
            connection,
            transaction))
        {
            await waiting.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var exists = new NpgsqlCommand("SELECT to_regclass('cluster_leases') IS NOT NULL", connection, transaction))
        {
            if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
        }

        await using (var create = new NpgsqlCommand(Tables, connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var (key, text) in Queries)
        {
            await using var insert = new NpgsqlCommand("INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES (@key, @text)", connection, transaction);
            insert.Parameters.AddWithValue("key", key);
            insert.Parameters.AddWithValue("text", text);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private const string Tables = """
        CREATE TABLE IF NOT EXISTS OrleansQuery (QueryKey VARCHAR(64) PRIMARY KEY, QueryText VARCHAR(8000) NOT NULL);
        CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable (
            DeploymentId VARCHAR(150) PRIMARY KEY,
            Timestamp TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
            Version INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS OrleansMembershipTable (
            DeploymentId VARCHAR(150) NOT NULL REFERENCES OrleansMembershipVersionTable (DeploymentId),
            Address VARCHAR(45) NOT NULL,
            Port INTEGER NOT NULL,
            Generation INTEGER NOT NULL,
            SiloName VARCHAR(150) NOT NULL,
            HostName VARCHAR(150) NOT NULL,
            Status INTEGER NOT NULL,
            ProxyPort INTEGER,
            SuspectTimes VARCHAR(8000),
            StartTime TIMESTAMPTZ(3) NOT NULL,
            IAmAliveTime TIMESTAMPTZ(3) NOT NULL,
            PRIMARY KEY (DeploymentId, Address, Port, Generation));
        CREATE TABLE cluster_leases (
            run_id TEXT PRIMARY KEY,
            node TEXT NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL,
            takeovers INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX cluster_leases_node ON cluster_leases (node);
        CREATE TABLE cluster_step_nodes (
            run_id TEXT NOT NULL,
            step_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            node TEXT NOT NULL,
            PRIMARY KEY (run_id, step_id, attempt));
        """;

    // Each write answers one integer: how many rows it changed (the provider reads it as true or false). A membership
    // write changes its row only where it also moves the table's version from the one the node read, in one statement.
    private static readonly (string Key, string Text)[] Queries =
    [
        ("UpdateIAmAlivetimeKey", """
            UPDATE OrleansMembershipTable SET IAmAliveTime = @IAmAliveTime
            WHERE DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation
            """),
        ("InsertMembershipVersionKey", """
            WITH added AS (
                INSERT INTO OrleansMembershipVersionTable (DeploymentId) VALUES (@DeploymentId)
                ON CONFLICT (DeploymentId) DO NOTHING RETURNING 1)
            SELECT count(*)::int FROM added
            """),
        ("InsertMembershipKey", """
            WITH versioned AS (
                UPDATE OrleansMembershipVersionTable SET Version = Version + 1, Timestamp = now()
                WHERE DeploymentId = @DeploymentId AND Version = @Version
                  AND NOT EXISTS (SELECT 1 FROM OrleansMembershipTable
                                  WHERE DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation)
                RETURNING 1),
            added AS (
                INSERT INTO OrleansMembershipTable (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
                SELECT @DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime
                FROM versioned
                RETURNING 1)
            SELECT count(*)::int FROM added
            """),
        ("UpdateMembershipKey", """
            WITH versioned AS (
                UPDATE OrleansMembershipVersionTable SET Version = Version + 1, Timestamp = now()
                WHERE DeploymentId = @DeploymentId AND Version = @Version
                RETURNING 1),
            changed AS (
                UPDATE OrleansMembershipTable SET Status = @Status, SuspectTimes = @SuspectTimes, IAmAliveTime = @IAmAliveTime
                WHERE DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation
                  AND EXISTS (SELECT 1 FROM versioned)
                RETURNING 1)
            SELECT count(*)::int FROM changed
            """),
        ("MembershipReadRowKey", """
            SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
                   m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
            FROM OrleansMembershipVersionTable v
            LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
                 AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
            WHERE v.DeploymentId = @DeploymentId
            """),
        ("MembershipReadAllKey", """
            SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
                   m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
            FROM OrleansMembershipVersionTable v
            LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
            WHERE v.DeploymentId = @DeploymentId
            """),
        ("DeleteMembershipTableEntriesKey", """
            DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId;
            DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId
            """),
        ("GatewaysQueryKey", """
            SELECT Address, ProxyPort, Generation FROM OrleansMembershipTable
            WHERE DeploymentId = @DeploymentId AND Status = @Status AND ProxyPort > 0
            """),
        ("CleanupDefunctSiloEntriesKey", """
            DELETE FROM OrleansMembershipTable
            WHERE DeploymentId = @DeploymentId AND IAmAliveTime < @IAmAliveTime AND Status <> 3
            """),
        ("CleanupDefunctSiloEntryKey", """
            DELETE FROM OrleansMembershipTable
            WHERE DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation AND Status <> 3
            """),
    ];
}
