using System.Net;

namespace Orchestrator.Cluster.Node;

/// <summary>
/// How a node joins the cluster: the PostgreSQL database (membership, leases and the store), its name, the address other
/// nodes reach it at, and how quickly a dead node is noticed and its runs taken over.
/// </summary>
public sealed record ClusterSettings(string ConnectionString, string Node)
{
    public const string ClusterId = "orchestrator";

    /// <summary>The address other nodes reach this one at; loopback unless told (one machine).</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>The silo's port (node to node) and the gateway's; 0 picks free ones.</summary>
    public int SiloPort { get; init; }

    public int GatewayPort { get; init; }

    /// <summary>
    /// How long a node may go unheard before the others declare it dead (Orleans' probes) and how long a run's lease lasts
    /// unrenewed. Short in tests; the default suits a LAN.
    /// </summary>
    public TimeSpan FailureTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Letters, digits, '_' and '.': the name keys the node's grain and its leases.</summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.');
}
