using System.Text.Json.Nodes;
using Orchestrator.Core.Verbs;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Scripting.CSharp;

/// <summary>
/// Peer-to-peer consensus in C#: <c>await Consensus("ship", task, peers: new[] { "reviewer-a", "reviewer-b", "reviewer-c" }, quorum: Quorum.Majority)</c>,
/// or with named, weighted or script peers: <c>peers: new[] { Peer("reviewer", name: "lead", weight: 2), Peer("dev", async (phase, payload) => …) }</c>.
/// </summary>
public sealed partial class WorkflowGlobals
{
    /// <summary>
    /// Runs a consensus step over <paramref name="task"/> among peer agents (one peer per kind, named after it): each
    /// proposes, each votes, <paramref name="quorum"/> (default: a majority) decides, and each contributes to the
    /// agreed plan. See <see cref="Consensus(string, object?, IEnumerable{ConsensusPeer}, Quorum?, Func{JsonObject, JsonNode?, object?}?, NoQuorum, bool, RecoveryChain?, TimeSpan?)"/>.
    /// </summary>
    public Task<JsonNode?> Consensus(
        string name,
        object? task,
        IEnumerable<string> peers,
        Quorum? quorum = null,
        Func<JsonObject, JsonNode?, object?>? integrate = null,
        NoQuorum onNoQuorum = NoQuorum.Throw,
        bool contribute = VerbDefaults.Contribute,
        RecoveryChain? recovery = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(peers);
        return Consensus(name, task, peers.Select(kind => ConsensusPeer.OfAgent(kind)), quorum, integrate, onNoQuorum, contribute, recovery, timeout);
    }

    /// <summary>
    /// Runs a consensus step over <paramref name="task"/>: every peer proposes (<c>propose/peer</c>), every peer votes for a
    /// proposal by its proposer's name (<c>vote/peer</c>), <paramref name="quorum"/> decides (<c>tally</c>), every peer
    /// contributes to the agreed plan (<c>contribute/peer</c>, unless <paramref name="contribute"/> is false) and
    /// <paramref name="integrate"/> gets (contributions by peer, plan) and returns the result (default:
    /// <c>{ agreed, winner, plan, votes, counts, contributions }</c>). Without a quorum the step fails, its cause a
    /// <see cref="ConsensusFailedException"/> with the tally, or returns <c>{ agreed: false, reason, votes, counts }</c>
    /// with <see cref="NoQuorum.ReturnOutcome"/>. A peer agent's failure tries <paramref name="recovery"/> (default: the
    /// workflow's chain) within <paramref name="timeout"/> per attempt.
    /// </summary>
    public Task<JsonNode?> Consensus(
        string name,
        object? task,
        IEnumerable<ConsensusPeer> peers,
        Quorum? quorum = null,
        Func<JsonObject, JsonNode?, object?>? integrate = null,
        NoQuorum onNoQuorum = NoQuorum.Throw,
        bool contribute = VerbDefaults.Contribute,
        RecoveryChain? recovery = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(peers);
        var plan = new ConsensusPlan
        {
            Peers = [.. peers],
            Quorum = quorum ?? Quorum.Majority,
            OnNoQuorum = onNoQuorum,
            Contribute = contribute,
            Integrate = integrate is null ? null : (scope, contributions, agreed, _) => InScope(scope, () => Task.FromResult(integrate(contributions, agreed))),
            Recovery = recovery,
            Timeout = timeout,
        };
        return Scope.ConsensusAsync(name, ToJson(task), plan, CancellationToken);
    }

    /// <summary>A peer that is an agent of kind <paramref name="agent"/>, under <paramref name="name"/> (default: the kind) and with a weight for <see cref="Quorum.Weighted"/>.</summary>
    public ConsensusPeer Peer(string agent, string? name = null, double weight = 1) => ConsensusPeer.OfAgent(agent, name, weight);

    /// <summary>
    /// A peer that is script code: <paramref name="run"/> gets the phase (<c>propose</c>, <c>vote</c>, <c>contribute</c>) and
    /// its payload (<c>{ phase, peer, task, proposals | plan }</c>) and returns the proposal, the name voted for, or the
    /// contribution; steps it runs nest under <c>phase/name</c>.
    /// </summary>
    public ConsensusPeer Peer<T>(string name, Func<string, JsonNode?, Task<T>> run, double weight = 1)
    {
        ArgumentNullException.ThrowIfNull(run);
        return ConsensusPeer.OfFunction(name, (scope, phase, payload, _) => InScope(scope, () => run(phase, payload)), weight);
    }

    /// <inheritdoc cref="Peer{T}(string, Func{string, JsonNode?, Task{T}}, double)"/>
    public ConsensusPeer Peer<T>(string name, Func<string, JsonNode?, T> run, double weight = 1)
    {
        ArgumentNullException.ThrowIfNull(run);
        return ConsensusPeer.OfFunction(name, (scope, phase, payload, _) => InScope(scope, () => Task.FromResult(run(phase, payload))), weight);
    }
}
