using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Orchestrator.Abstractions;
using Orchestrator.Cluster.Node;
using Orchestrator.Core.Plugins;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Cluster.Agents;

/// <summary>
/// The engine's agents on a cluster node: the node's own, each wrapped so that a call may run on any live node that has
/// the agent (<see cref="ClusterAgent"/>). Strategies, reloads and load errors are the node's own.
/// </summary>
internal sealed class ClusterAgentRegistry(NodeServices node) : IAgentRegistry
{
    private readonly ConditionalWeakTable<IAgent, ClusterAgent> _wrapped = [];
    private readonly ConcurrentDictionary<string, (IReadOnlyList<AgentProvider> Local, AgentProvider[] Wrapped)> _byKind = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyCollection<string> AgentKinds => node.LocalAgents.AgentKinds;

    public IReadOnlyCollection<string> StrategyNames => node.LocalAgents.StrategyNames;

    public IReadOnlyList<string> LoadErrors => node.LocalAgents.LoadErrors;

    public IAgent? FindAgent(string kind) => FindProviders(kind) is [var first, ..] ? first.Agent : null;

    public IReadOnlyList<AgentProvider> FindProviders(string kind)
    {
        var local = node.LocalAgents.FindProviders(kind);
        if (_byKind.TryGetValue(kind, out var cached) && ReferenceEquals(cached.Local, local))
        {
            return cached.Wrapped;
        }

        // Replicas stay replicas (recovery redistributes among them); each of them reaches across the cluster.
        var wrapped = local.Select(p => p with { Agent = _wrapped.GetValue(p.Agent, a => new ClusterAgent(kind, a, node)) }).ToArray();
        _byKind[kind] = (local, wrapped);
        return wrapped;
    }

    public IRecoveryStrategy? FindStrategy(string name) => node.LocalAgents.FindStrategy(name);

    public IReadOnlyList<PluginReload> ReloadChanged() => node.LocalAgents.ReloadChanged();
}

/// <summary>
/// An agent whose calls go to the least busy live node that has an agent of the kind (counted from this node's calls in
/// flight to each), this node included. A node that fails the call (it died, or cannot be reached) is left out and the
/// call is made again elsewhere as the step's next attempt, with the same idempotency key. Calls that carry MCP tools
/// stay here: the tools are this node's.
/// </summary>
internal sealed class ClusterAgent(string kind, IAgent local, NodeServices node) : IAgent
{
    private readonly ConcurrentDictionary<string, int> _sent = new(StringComparer.Ordinal);
    private int _turn;

    public string Kind => local.Kind;

    public IReadOnlyCollection<string> Capabilities => local.Capabilities;

    /// <summary>This node sends no more calls at once than the agent takes; every node also runs no more than that.</summary>
    public int MaxConcurrency => local.MaxConcurrency;

    public string? TargetOf(AgentTask task) => local.TargetOf(task);

    public ValueTask OnMessageAsync(AgentMessage message, CancellationToken cancellationToken) => local.OnMessageAsync(message, cancellationToken);

    public async ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var tried = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var target = task.Tools is null ? Choose(tried) : node.Name;
            tried.Add(target);
            _sent.AddOrUpdate(target, 1, static (_, n) => n + 1);
            try
            {
                node.Steps.Add(task.RunId, task.StepId, task.Attempt, target);
                if (string.Equals(target, node.Name, StringComparison.Ordinal))
                {
                    return await node.ExecuteAsync(kind, task, cancellationToken).ConfigureAwait(false)
                        ?? AgentResult.Fail($"no agent of kind '{kind}' on node {node.Name}");
                }

                var remote = await CallAsync(target, task, cancellationToken).ConfigureAwait(false);
                if (remote is not null)
                {
                    return remote;
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && !string.Equals(target, node.Name, StringComparison.Ordinal))
            {
                // The node died or cannot be reached: the call runs again elsewhere, as the step's next attempt.
                node.Log.Warning("Step {StepId}: node {Node} failed the call to {Agent} ({Error}); it runs again on another node", task.StepId, target, kind, ex.Message);
                node.Directory.Suspect(target);
                task = task with { Attempt = task.Attempt + 1 };
            }
            finally
            {
                _sent.AddOrUpdate(target, 0, static (_, n) => n - 1);
            }
        }
    }

    /// <summary>The call on another node; null when that node turned out to have no such agent.</summary>
    private async Task<AgentResult?> CallAsync(string target, AgentTask task, CancellationToken cancellationToken)
    {
        using var cancellation = new Orleans.GrainCancellationTokenSource();
        await using var relay = cancellationToken.Register(() => _ = cancellation.Cancel());
        var answer = await node.Directory.Grains.GetGrain<INodeGrain>(target).RunAgentAsync(new AgentCall
        {
            Kind = kind,
            RunId = task.RunId,
            StepId = task.StepId,
            Attempt = task.Attempt,
            InputJson = task.Input?.ToJsonString(),
        }, cancellation.Token).ConfigureAwait(false);
        if (answer.Missing)
        {
            node.Directory.Suspect(target);
            return null;
        }

        return new AgentResult
        {
            Success = answer.Success,
            Output = answer.OutputJson is null ? null : System.Text.Json.Nodes.JsonNode.Parse(answer.OutputJson),
            Error = answer.Error,
            Severity = (Severity)answer.Severity,
        };
    }

    /// <summary>The live node with the agent that has the fewest of this node's calls in flight; ties go round in turn.</summary>
    private string Choose(HashSet<string> tried)
    {
        var nodes = node.Directory.Nodes;
        string? best = null;
        var bestLoad = int.MaxValue;
        var start = Interlocked.Increment(ref _turn);
        for (var i = 0; i < nodes.Count; i++)
        {
            var candidate = nodes[(int)((uint)(start + i) % (uint)nodes.Count)];
            if (tried.Contains(candidate.Name) || !candidate.Agents.Contains(kind, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var load = _sent.GetValueOrDefault(candidate.Name);
            if (load < bestLoad)
            {
                best = candidate.Name;
                bestLoad = load;
            }
        }

        return best ?? node.Name;
    }
}
