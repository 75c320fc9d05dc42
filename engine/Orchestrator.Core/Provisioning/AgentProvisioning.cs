using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Provisioning;

/// <summary>Finds the agents a phase asks for, by kind or by a capability their plugins declare.</summary>
internal static class AgentProvisioning
{
    /// <summary>
    /// The agent kinds that serve <paramref name="wanted"/>: the kind itself if an agent has it, else every kind whose
    /// agent declares it as a capability, in name order.
    /// </summary>
    public static IReadOnlyList<string> KindsFor(this IAgentRegistry agents, string wanted)
    {
        if (agents.FindAgent(wanted) is not null)
        {
            return [wanted];
        }

        return [.. agents.AgentKinds
            .Where(k => agents.FindAgent(k)?.Capabilities.Contains(wanted, StringComparer.OrdinalIgnoreCase) == true)
            .Order(StringComparer.Ordinal)];
    }
}
