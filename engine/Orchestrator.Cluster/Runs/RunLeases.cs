using Npgsql;

namespace Orchestrator.Cluster.Runs;

/// <summary>
/// Who drives which run: one row per run in <c>cluster_leases</c>, held by a node until it expires (by the database's
/// clock, so nodes need not agree on time). A node renews the leases of its runs; another node may take a lease only
/// once it has expired or its node is declared dead, and the take is one conditional statement, so of two nodes
/// trying at once exactly one gets it.
/// </summary>
internal sealed class RunLeases(NpgsqlDataSource database, string node, TimeSpan duration)
{
    // A node paused in the middle of a commit would hold the rows, and so every take-over, for as long as it is paused:
    // the server ends such a transaction once it has been idle for a lease's length (the node's commit then fails).
    private readonly string _heldSql =
        $"SET LOCAL idle_in_transaction_session_timeout = {(long)duration.TotalMilliseconds}; " +
        "SELECT run_id FROM cluster_leases WHERE node = @node AND run_id = ANY(@runs) FOR SHARE";

    public string Node => node;

    public TimeSpan Duration => duration;

    /// <summary>A new run's lease: taken before its first step (the run's id is new, so nobody else holds it).</summary>
    public void TakeNew(string runId)
    {
        using var command = database.CreateCommand(
            "INSERT INTO cluster_leases (run_id, node, expires_at) VALUES (@run, @node, now() + @ttl) ON CONFLICT (run_id) DO NOTHING");
        Bind(command, runId);
        command.ExecuteNonQuery();
    }

    /// <summary>Takes the run's lease if it is free, already ours, expired, or held by a node in <paramref name="deadNodes"/>.</summary>
    public async Task<bool> TryClaimAsync(string runId, IReadOnlyCollection<string> deadNodes, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO cluster_leases (run_id, node, expires_at) VALUES (@run, @node, now() + @ttl)
            ON CONFLICT (run_id) DO UPDATE SET node = EXCLUDED.node, expires_at = EXCLUDED.expires_at,
                takeovers = cluster_leases.takeovers + CASE WHEN cluster_leases.node = EXCLUDED.node THEN 0 ELSE 1 END
            WHERE cluster_leases.node = EXCLUDED.node OR cluster_leases.expires_at < now() OR cluster_leases.node = ANY(@dead)
            RETURNING node
            """);
        Bind(command, runId);
        command.Parameters.AddWithValue("dead", deadNodes.ToArray());
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string;
    }

    /// <summary>
    /// The journal's fence (<see cref="Orchestrator.Core.Journal.Postgres.JournalFence"/>): of <paramref name="runIds"/>,
    /// those whose lease this node holds, expired or not (a lease only changes hands by a take-over). The rows stay
    /// locked until the journal's commit, so a take-over waits for it rather than slipping in between.
    /// </summary>
    public IReadOnlySet<string> Held(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyCollection<string> runIds)
    {
        using var command = new NpgsqlCommand(_heldSql, connection, transaction);
        command.Parameters.AddWithValue("node", node);
        command.Parameters.AddWithValue("runs", runIds.ToArray());
        var held = new HashSet<string>(StringComparer.Ordinal);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            held.Add(reader.GetString(0));
        }

        return held;
    }

    /// <summary>Renews the leases of <paramref name="runIds"/>; returns those this node no longer holds (another node took them).</summary>
    public async Task<IReadOnlyList<string>> RenewAsync(IReadOnlyCollection<string> runIds, CancellationToken cancellationToken)
    {
        if (runIds.Count == 0)
        {
            return [];
        }

        await using var command = database.CreateCommand(
            "UPDATE cluster_leases SET expires_at = now() + @ttl WHERE node = @node AND run_id = ANY(@runs) RETURNING run_id");
        Bind(command, null);
        command.Parameters.AddWithValue("runs", runIds.ToArray());
        var held = new HashSet<string>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                held.Add(reader.GetString(0));
            }
        }

        return [.. runIds.Where(id => !held.Contains(id))];
    }

    /// <summary>Gives a run's lease up: at its end, or expired at once when the node stops so that another node takes it over.</summary>
    public void Release(string runId, bool handOver)
    {
        using var command = database.CreateCommand(handOver
            ? "UPDATE cluster_leases SET expires_at = now() - interval '1 second' WHERE run_id = @run AND node = @node"
            : "DELETE FROM cluster_leases WHERE run_id = @run AND node = @node");
        Bind(command, runId);
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// The runs another node may take now: leases expired or held by a dead node, and waiting runs nobody holds (parked
    /// by a process outside the cluster, or left by a node that stopped before the cluster kept waiting runs).
    /// </summary>
    public async Task<IReadOnlyList<string>> OrphansAsync(IReadOnlyCollection<string> deadNodes, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT run_id FROM cluster_leases WHERE expires_at < now() OR node = ANY(@dead)
            UNION SELECT id FROM runs WHERE status = 'Waiting' AND NOT EXISTS (SELECT 1 FROM cluster_leases l WHERE l.run_id = runs.id)
            ORDER BY 1
            """);
        command.Parameters.AddWithValue("dead", deadNodes.ToArray());
        var runs = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            runs.Add(reader.GetString(0));
        }

        return runs;
    }

    /// <summary>The node holding the run's live lease, or null.</summary>
    public async Task<string?> OwnerAsync(string runId, CancellationToken cancellationToken) =>
        await LeaseAsync(runId, cancellationToken).ConfigureAwait(false) is { Live: true } lease ? lease.Node : null;

    /// <summary>
    /// The run's lease, live or not (expired, or held by a dead node, until another node takes it); null when it has none.
    /// A lease is only dropped when its run ends, so a run with one is the cluster's to drive or to take over.
    /// </summary>
    public async Task<(string Node, bool Live)?> LeaseAsync(string runId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT node, expires_at >= now() FROM cluster_leases WHERE run_id = @run");
        command.Parameters.AddWithValue("run", runId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? (reader.GetString(0), reader.GetBoolean(1)) : null;
    }

    /// <summary>The runs the cluster drives or will take over: every run with a lease (see <see cref="LeaseAsync"/>).</summary>
    public async Task<IReadOnlySet<string>> LeasedAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT run_id FROM cluster_leases");
        var leased = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            leased.Add(reader.GetString(0));
        }

        return leased;
    }

    /// <summary>How many runs each node holds a live lease on.</summary>
    public async Task<IReadOnlyDictionary<string, int>> CountByNodeAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT node, count(*)::int FROM cluster_leases WHERE expires_at >= now() GROUP BY node");
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            counts[reader.GetString(0)] = reader.GetInt32(1);
        }

        return counts;
    }

    private void Bind(NpgsqlCommand command, string? runId)
    {
        if (runId is not null)
        {
            command.Parameters.AddWithValue("run", runId);
        }

        command.Parameters.AddWithValue("node", node);
        command.Parameters.AddWithValue("ttl", duration);
    }
}
