using Npgsql;

namespace Orchestrator.Core.Journal.Postgres;

/// <summary>
/// Which of <paramref name="runIds"/> this writer may still write: in a cluster, the runs whose lease its node holds.
/// Asked once per commit, inside the commit's transaction, so that a node taking a run over either waits for the commit
/// or is seen by it: a node that lost a run (a partition, a pause) cannot add to its journal afterwards.
/// </summary>
internal delegate IReadOnlySet<string> JournalFence(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyCollection<string> runIds);

/// <summary>A write to a run whose lease this node no longer holds: another node drives the run now.</summary>
internal sealed class RunNotHeldException(string runId)
    : InvalidOperationException($"run {runId} is driven by another node now: this node no longer holds its lease")
{
    public string RunId => runId;
}
