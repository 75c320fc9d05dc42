using Orleans;
using Orleans.Runtime;
using Serilog;

namespace Orchestrator.Cluster.Node;

/// <summary>
/// The cluster's live nodes as this node knows them: Orleans' membership says who is alive (and who was declared dead),
/// each node's grain says what agents it has. Read on every agent call, so it is a snapshot swapped whole.
/// </summary>
internal sealed class ClusterDirectory(IClusterMembershipService membership, IGrainFactory grains, string self, ILogger log)
{
    private volatile NodeInfo[] _nodes = [];

    public IReadOnlyList<NodeInfo> Nodes => _nodes;

    public IGrainFactory Grains => grains;

    /// <summary>The names of nodes Orleans declared dead and that have not come back under the same name.</summary>
    public IReadOnlyCollection<string> DeadNodes()
    {
        var members = membership.CurrentSnapshot.Members.Values;
        var alive = members.Where(m => m.Status != SiloStatus.Dead).Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        return [.. members.Where(m => m.Status == SiloStatus.Dead && !alive.Contains(m.Name)).Select(m => m.Name).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The names of the nodes Orleans counts as active now.</summary>
    public IReadOnlyList<string> ActiveNodes() =>
        [.. membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.Name).Distinct(StringComparer.Ordinal)];

    /// <summary>Asks every active node to describe itself; a node that does not answer in time is left out until the next refresh.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var asked = ActiveNodes().Select(async name =>
        {
            try
            {
                return await grains.GetGrain<INodeGrain>(name).DescribeAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                log.Debug(ex, "Node {Node} did not describe itself", name);
                return null;
            }
        });
        var answered = await Task.WhenAll(asked).ConfigureAwait(false);
        _nodes = [.. answered.OfType<NodeInfo>().OrderBy(n => n.Name, StringComparer.Ordinal)];
    }

    /// <summary>Leaves a node out of agent calls until the next refresh (its call failed: it may be dying).</summary>
    public void Suspect(string node)
    {
        if (!string.Equals(node, self, StringComparison.Ordinal))
        {
            _nodes = [.. _nodes.Where(n => !string.Equals(n.Name, node, StringComparison.Ordinal))];
        }
    }
}
