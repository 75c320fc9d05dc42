using Orleans;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace Orchestrator.Cluster.Node;

/// <summary>
/// Places a grain on the node its key names. Orleans' silo-role placement reads a role that ADO.NET membership does
/// not store, so the node's name (the silo's name, which it does store) is matched here.
/// </summary>
[Serializable, GenerateSerializer, Immutable]
public sealed class NodePlacement : PlacementStrategy
{
    internal static NodePlacement Instance { get; } = new();
}

/// <summary>Marks a grain class as placed by <see cref="NodePlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class NodePlacementAttribute : PlacementAttribute
{
    public NodePlacementAttribute()
        : base(NodePlacement.Instance)
    {
    }
}

/// <summary>Finds the active silo named by the grain's key; there is none when that node is gone, which fails the call.</summary>
internal sealed class NodePlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var name = target.GrainIdentity.Key.ToString();
        var compatible = context.GetCompatibleSilos(target);
        var silo = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && string.Equals(m.Name, name, StringComparison.Ordinal))
            .Select(m => m.SiloAddress)
            .FirstOrDefault(compatible.Contains);
        return silo is not null
            ? Task.FromResult(silo)
            : Task.FromException<SiloAddress>(new SiloUnavailableException($"no active node named {name}"));
    }
}
