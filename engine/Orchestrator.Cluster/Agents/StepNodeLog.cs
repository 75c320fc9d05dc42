using System.Collections.Concurrent;
using Npgsql;
using Serilog;

namespace Orchestrator.Cluster.Agents;

/// <summary>
/// Which node ran each agent step's attempt (<c>cluster_step_nodes</c>), written in batches beside the journal: the
/// journal's format stays the store's, and <c>runs show --json</c> joins the two.
/// </summary>
internal sealed class StepNodeLog : IAsyncDisposable
{
    private readonly NpgsqlDataSource _database;
    private readonly ILogger _log;
    private readonly ConcurrentQueue<(string Run, string Step, int Attempt, string Node)> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly PeriodicTimer _timer;
    private readonly Task _flushing;

    public StepNodeLog(NpgsqlDataSource database, TimeProvider time, ILogger log)
    {
        _database = database;
        _log = log;
        _timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50), time);
        _flushing = FlushLoopAsync();
    }

    public void Add(string runId, string stepId, int attempt, string node) => _pending.Enqueue((runId, stepId, attempt, node));

    /// <summary>The nodes a run's agent steps ran on, by step id (the last attempt's).</summary>
    public static async Task<IReadOnlyDictionary<string, string>> ReadAsync(NpgsqlDataSource database, string runId, CancellationToken cancellationToken)
    {
        var nodes = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var exists = database.CreateCommand("SELECT to_regclass('cluster_step_nodes') IS NOT NULL"))
        {
            // A store no cluster ever used has no such table: its steps ran on no node.
            if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not true)
            {
                return nodes;
            }
        }

        await using var command = database.CreateCommand(
            "SELECT step_id, node FROM cluster_step_nodes WHERE run_id = @run ORDER BY attempt");
        command.Parameters.AddWithValue("run", runId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            nodes[reader.GetString(0)] = reader.GetString(1);
        }

        return nodes;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _flushing.ConfigureAwait(false);
        await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        _timer.Dispose();
        _stop.Dispose();
    }

    private async Task FlushLoopAsync()
    {
        try
        {
            while (await _timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                await FlushAsync(_stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: DisposeAsync writes what is left.
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_pending.IsEmpty)
        {
            return;
        }

        // One row per attempt: a statement may not update the same row twice.
        var batch = new Dictionary<(string, string, int), string>();
        while (_pending.TryDequeue(out var row))
        {
            batch[(row.Run, row.Step, row.Attempt)] = row.Node;
        }

        var runs = batch.Keys.Select(k => k.Item1).ToArray();
        var steps = batch.Keys.Select(k => k.Item2).ToArray();
        var attempts = batch.Keys.Select(k => k.Item3).ToArray();
        var nodes = batch.Values.ToArray();

        try
        {
            await using var command = _database.CreateCommand("""
                INSERT INTO cluster_step_nodes (run_id, step_id, attempt, node)
                SELECT * FROM unnest(@runs, @steps, @attempts, @nodes)
                ON CONFLICT (run_id, step_id, attempt) DO UPDATE SET node = EXCLUDED.node
                """);
            command.Parameters.AddWithValue("runs", runs);
            command.Parameters.AddWithValue("steps", steps);
            command.Parameters.AddWithValue("attempts", attempts);
            command.Parameters.AddWithValue("nodes", nodes);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            // Where a step ran is for reading only: losing it never fails a run.
            _log.Warning(ex, "Could not record the nodes of {Count} agent steps", runs.Length);
        }
    }
}
