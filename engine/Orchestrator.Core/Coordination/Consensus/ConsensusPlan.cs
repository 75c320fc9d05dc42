using System.Text.Json.Nodes;

namespace Orchestrator.Core.Workflow;

/// <summary>
/// How a consensus step runs: who the peers are, which quorum decides, what happens without one, and how the
/// peers' contributions to the agreed plan are put together.
/// </summary>
public sealed record ConsensusPlan
{
    /// <summary>The peers, in the order their proposals, votes and contributions are listed; at least one, each with its own name.</summary>
    public required IReadOnlyList<ConsensusPeer> Peers { get; init; }

    /// <summary>What decides: a majority of the peers (the default), all of them, at least N of them, or a share of their weight.</summary>
    public Quorum Quorum { get; init; } = Quorum.Majority;

    /// <summary>What the step does when no proposal reaches the quorum: fail (the default) or return the outcome.</summary>
    public NoQuorum OnNoQuorum { get; init; } = NoQuorum.Throw;

    /// <summary>Whether every peer contributes to the agreed plan (phase <c>contribute</c>); false stops at the decision.</summary>
    public bool Contribute { get; init; } = true;

    /// <summary>
    /// Puts the contributions (by peer name) and the agreed plan together into the step's result; runs as the step
    /// <c>integrate</c>. Without it the result is <c>{ agreed, winner, plan, votes, counts, contributions }</c>.
    /// </summary>
    public Func<WorkflowScope, JsonObject, JsonNode?, CancellationToken, Task<JsonNode?>>? Integrate { get; init; }

    /// <summary>The recovery chain of a peer agent's failed step; null takes the workflow's.</summary>
    public RecoveryChain? Recovery { get; init; }

    /// <summary>The limit for each peer agent attempt; null takes the workflow's step timeout.</summary>
    public TimeSpan? Timeout { get; init; }
}

/// <summary>What a consensus step does when no proposal reaches its quorum; either way the tally is journaled.</summary>
public enum NoQuorum
{
    /// <summary>The step fails with <c>no quorum: votes a=2, b=1 (majority needs 3 of 4)</c>; the cause is a <see cref="ConsensusFailedException"/>.</summary>
    Throw,

    /// <summary>The step succeeds with <c>{ agreed: false, reason, votes, counts }</c>, for the script to decide what to do.</summary>
    ReturnOutcome,
}

/// <summary>
/// One peer of a consensus: an agent kind, or script code, under a name unique in the consensus (so that the same
/// agent kind can sit twice), with a weight for <see cref="Quorum.Weighted"/>. Every phase calls it with
/// <c>{ phase, peer, task, … }</c>: <c>propose</c> returns a proposal (any JSON; null proposes nothing); <c>vote</c>
/// gets the <c>proposals</c> by peer and returns the name of the peer whose proposal it backs (or <c>{ vote: name }</c>;
/// null abstains); <c>contribute</c> gets the agreed <c>plan</c> and its proposer <c>winner</c> and returns its part.
/// </summary>
public sealed class ConsensusPeer
{
    private ConsensusPeer(string name, string? agent, Func<WorkflowScope, string, JsonNode?, CancellationToken, Task<JsonNode?>>? run, double weight)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"peer name '{name}' must not contain '/': it becomes part of step ids");
        }

        if (!double.IsFinite(weight) || weight < 0)
        {
            throw new ArgumentException($"peer '{name}': a weight must be a number of at least 0");
        }

        Name = name;
        Agent = agent;
        Run = run;
        Weight = weight;
    }

    /// <summary>The peer's name: its proposal is voted for by this name, and its steps are <c>propose/name</c>, <c>vote/name</c>….</summary>
    public string Name { get; }

    /// <summary>The agent kind that speaks for the peer; null for a peer that is script code.</summary>
    public string? Agent { get; }

    /// <summary>The peer as script code: gets the phase and its payload, returns the proposal, vote or contribution.</summary>
    public Func<WorkflowScope, string, JsonNode?, CancellationToken, Task<JsonNode?>>? Run { get; }

    /// <summary>The peer's weight in a weighted quorum (1 unless given); other quorums count heads.</summary>
    public double Weight { get; }

    /// <summary>A peer that is an agent of kind <paramref name="agent"/>, named <paramref name="name"/> (default: the kind).</summary>
    public static ConsensusPeer OfAgent(string agent, string? name = null, double weight = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(agent);
        return new(name ?? agent, agent, null, weight);
    }

    /// <summary>A peer that is script code: <paramref name="run"/> gets (scope, phase, payload, token) and returns its answer.</summary>
    public static ConsensusPeer OfFunction(string name, Func<WorkflowScope, string, JsonNode?, CancellationToken, Task<JsonNode?>> run, double weight = 1)
    {
        ArgumentNullException.ThrowIfNull(run);
        return new(name, null, run, weight);
    }

    /// <summary>The peer as the consensus step's journaled input shows it.</summary>
    internal JsonObject Describe()
    {
        var json = new JsonObject { ["name"] = Name };
        if (Agent is not null)
        {
            json["agent"] = Agent;
        }
        else
        {
            json["function"] = true;
        }

        json["weight"] = Weight;
        return json;
    }
}

/// <summary>
/// A consensus step ended without agreement: no proposal reached the quorum, or two tied. The step's error says
/// why (<c>no quorum: votes a=2, b=1, c=1 (majority needs 3 of 4)</c>); <see cref="Tally"/> has the votes.
/// A script sees it as the cause (<see cref="Exception.InnerException"/>) of the step's <see cref="StepFailedException"/>.
/// </summary>
public sealed class ConsensusFailedException(string message, JsonObject tally) : Exception(message)
{
    /// <summary>The tally step's output: <c>{ agreed: false, winner: null, quorum, votes, counts, needed, reason }</c>.</summary>
    public JsonObject Tally { get; } = tally;
}

/// <summary>A phase of a consensus could not finish: a peer failed (after recovery), or voted for what nobody proposed.</summary>
internal sealed class ConsensusPhaseFailedException(string message, Exception? inner = null) : Exception(message, inner);
