using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace Orchestrator.Core.Workflow;

/// <summary>Peer-to-peer consensus: peers propose, vote, and, once a quorum agrees, each contributes to the agreed plan.</summary>
public sealed partial class WorkflowScope
{
    /// <summary>
    /// Runs a consensus step <paramref name="name"/> (kind <c>consensus</c>) over <paramref name="task"/>. Its phases are
    /// child steps (kind <c>phase</c>), each peer a step under them named after the peer, all peers of a phase at once:
    /// <c>propose</c> (<c>propose/a</c>, <c>propose/b</c>…), <c>vote</c>, then the step <c>tally</c> (kind <c>tally</c>),
    /// which journals the votes and the decision whatever it is; on agreement <c>contribute</c>, and <c>integrate</c> when the
    /// plan has an integrate function. A peer agent's step is an ordinary agent step, so recovery and severities apply
    /// (a degraded peer proposes, votes or contributes its fallback, null by default). Without a quorum the step fails with
    /// a <see cref="ConsensusFailedException"/> as the cause, or returns <c>{ agreed: false, … }</c> (<see cref="NoQuorum.ReturnOutcome"/>).
    /// </summary>
    public Task<JsonNode?> ConsensusAsync(string name, JsonNode? task, ConsensusPlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(plan.Peers);
        ArgumentNullException.ThrowIfNull(plan.Quorum);
        if (plan.Peers.Count == 0 || plan.Peers.Any(p => p is null))
        {
            throw new ArgumentException($"consensus '{name}' needs peers: agent kinds, or peers with a name and a function");
        }

        var duplicate = plan.Peers.GroupBy(p => p.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"consensus '{name}' has two peers named '{duplicate.Key}'; give one of them another name");
        }

        if (plan.Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"consensus '{name}': a timeout must be positive");
        }

        plan.Quorum.Validate(name, plan.Peers);
        var input = new JsonObject
        {
            ["task"] = task?.DeepClone(),
            ["peers"] = new JsonArray([.. plan.Peers.Select(p => p.Describe())]),
            ["quorum"] = plan.Quorum.ToJson(),
            ["onNoQuorum"] = plan.OnNoQuorum == NoQuorum.Throw ? "throw" : "return",
        };
        return RunStepAsync(name, "consensus", null, input, (scope, _, ct) => scope.ReachConsensusAsync(task, plan, ct), cancellationToken);
    }

    /// <summary>The body of a consensus step, in its scope: propose, vote, tally, contribute, integrate.</summary>
    private async Task<JsonNode?> ReachConsensusAsync(JsonNode? task, ConsensusPlan plan, CancellationToken ct)
    {
        var peers = plan.Peers;
        var proposals = await ConsensusPhaseAsync("propose", plan, peer => new JsonObject { ["phase"] = "propose", ["peer"] = peer.Name, ["task"] = task?.DeepClone() }, check: null, ct).ConfigureAwait(false);

        // Peers vote among the proposals that were made; with none, there is nothing to vote on.
        var offered = new JsonObject([.. proposals.Where(p => p.Value is not null).Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone()))]);

        // Agent peers also hear the proposals on their channels before they are asked to vote.
        _run.Channels.Send(
            peers.Where(p => p.Agent is not null).SelectMany(p => _run.Agents.FindProviders(p.Agent!)),
            AgentMessage.Proposal,
            new JsonObject { ["step"] = StepId, ["proposals"] = offered.DeepClone() });
        var votes = offered.Count == 0
            ? new JsonObject()
            : await ConsensusPhaseAsync(
                "vote",
                plan,
                peer => new JsonObject { ["phase"] = "vote", ["peer"] = peer.Name, ["task"] = task?.DeepClone(), ["proposals"] = offered.DeepClone() },
                (peer, answer) => CheckVote(peer, answer, offered),
                ct).ConfigureAwait(false);

        // A step of its own, so that the journal holds the votes and the decision even when the consensus fails.
        var tallyInput = new JsonObject { ["quorum"] = plan.Quorum.ToJson(), ["votes"] = votes.DeepClone() };
        var tally = (JsonObject)(await RunStepAsync("tally", "tally", null, tallyInput, (_, _, _) =>
            Task.FromResult<JsonNode?>(plan.Quorum.Tally(peers, proposals, votes)), ct).ConfigureAwait(false))!;
        if (tally["agreed"]?.GetValue<bool>() != true)
        {
            var reason = tally["reason"]?.GetValue<string>() ?? "no quorum";
            _run.Log.Warning("Consensus {StepId} reached no quorum: {Reason}", _path, reason);
            if (plan.OnNoQuorum == NoQuorum.Throw)
            {
                throw new ConsensusFailedException(reason, tally);
            }

            return new JsonObject
            {
                ["agreed"] = false,
                ["winner"] = null,
                ["reason"] = reason,
                ["votes"] = tally["votes"]?.DeepClone(),
                ["counts"] = tally["counts"]?.DeepClone(),
            };
        }

        var winner = tally["winner"]!.GetValue<string>();
        var agreed = proposals[winner]?.DeepClone();
        var contributions = plan.Contribute
            ? await ConsensusPhaseAsync(
                "contribute",
                plan,
                peer => new JsonObject { ["phase"] = "contribute", ["peer"] = peer.Name, ["task"] = task?.DeepClone(), ["plan"] = agreed?.DeepClone(), ["winner"] = winner },
                check: null,
                ct).ConfigureAwait(false)
            : new JsonObject();

        if (plan.Integrate is { } integrate)
        {
            var integrateInput = new JsonObject { ["plan"] = agreed?.DeepClone(), ["contributions"] = contributions.DeepClone() };
            try
            {
                return await RunStepAsync("integrate", "integrate", null, integrateInput, (scope, _, t) =>
                    integrate(scope, (JsonObject)contributions.DeepClone(), agreed?.DeepClone(), t), ct).ConfigureAwait(false);
            }
            catch (StepFailedException ex) when (!ct.IsCancellationRequested)
            {
                throw new ConsensusPhaseFailedException("integrate: " + ex.Reason, ex);
            }
        }

        return new JsonObject
        {
            ["agreed"] = true,
            ["winner"] = winner,
            ["plan"] = agreed,
            ["votes"] = tally["votes"]?.DeepClone(),
            ["counts"] = tally["counts"]?.DeepClone(),
            ["contributions"] = contributions,
        };
    }

    /// <summary>
    /// One phase as a step of kind <c>phase</c>: every peer at once, each as its own step named after it; the result maps
    /// peer name to answer, in peer order. The first failure cancels the peers still running and fails the phase, naming
    /// the peer; <paramref name="check"/> turns each answer into what the phase records, or throws to fail the phase.
    /// </summary>
    private async Task<JsonObject> ConsensusPhaseAsync(
        string phase,
        ConsensusPlan plan,
        Func<ConsensusPeer, JsonObject> payloadFor,
        Func<ConsensusPeer, JsonNode?, JsonNode?>? check,
        CancellationToken ct)
    {
        var input = new JsonObject { ["peers"] = new JsonArray([.. plan.Peers.Select(p => JsonValue.Create(p.Name))]) };
        try
        {
            var answers = await RunStepAsync(phase, "phase", null, input, async (scope, _, t) =>
            {
                var collected = await scope.AskPeersAsync(phase, plan, payloadFor, t).ConfigureAwait(false);
                if (check is null)
                {
                    return collected;
                }

                var checkedAnswers = new JsonObject();
                foreach (var peer in plan.Peers)
                {
                    checkedAnswers[peer.Name] = check(peer, collected[peer.Name]);
                }

                return checkedAnswers;
            }, ct).ConfigureAwait(false);
            return (JsonObject)answers!;
        }
        catch (StepFailedException ex) when (!ct.IsCancellationRequested)
        {
            // One line that says which phase and which peer, instead of the step ids nested three deep.
            throw new ConsensusPhaseFailedException($"{phase}: {ex.Reason}", ex);
        }
    }

    /// <summary>Runs the phase's step for every peer at once; answers by peer name, in peer order.</summary>
    private async Task<JsonObject> AskPeersAsync(string phase, ConsensusPlan plan, Func<ConsensusPeer, JsonObject> payloadFor, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var asking = new List<Task<JsonNode?>>(plan.Peers.Count);
        foreach (var peer in plan.Peers)
        {
            var payload = payloadFor(peer);

            // Task.Run so that a peer that computes before its first await does not hold up the others.
            asking.Add(Task.Run(async () =>
            {
                try
                {
                    return await AskPeerAsync(peer, phase, payload, plan, stop.Token).ConfigureAwait(false);
                }
                catch (Exception) when (!stop.IsCancellationRequested)
                {
                    await stop.CancelAsync().ConfigureAwait(false);
                    throw;
                }
            }, CancellationToken.None));
        }

        try
        {
            await Task.WhenAll(asking).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Every peer's outcome is looked at below, in peer order.
        }

        ct.ThrowIfCancellationRequested();

        // Peers cancelled because another failed are noise next to the real failure.
        var failures = plan.Peers.Zip(asking)
            .Where(p => p.Second.IsFaulted && p.Second.Exception!.InnerException is not OperationCanceledException)
            .Select(p => (Peer: p.First, Error: p.Second.Exception!.InnerException!))
            .ToList();
        if (failures.Count > 0)
        {
            var listed = string.Join("; ", failures.Select(f => $"peer '{f.Peer.Name}' failed: {Describe(f.Error)}"));
            throw new ConsensusPhaseFailedException(listed, failures[0].Error);
        }

        var answers = new JsonObject();
        foreach (var (peer, answer) in plan.Peers.Zip(asking))
        {
            answers[peer.Name] = (await answer.ConfigureAwait(false))?.DeepClone();
        }

        return answers;

        static string Describe(Exception error) => error is StepFailedException s ? s.Reason : error.Message;
    }

    /// <summary>One peer's turn in a phase: an agent step through the normal agent path, or a step of kind <c>peer</c> for script code.</summary>
    private Task<JsonNode?> AskPeerAsync(ConsensusPeer peer, string phase, JsonObject payload, ConsensusPlan plan, CancellationToken ct)
    {
        if (peer.Agent is { } kind)
        {
            return RunAgentAsync(kind, payload, new StepOptions { Name = peer.Name, Recovery = plan.Recovery, Timeout = plan.Timeout }, ct);
        }

        var run = peer.Run!;
        return RunStepAsync(peer.Name, "peer", null, payload, (scope, _, t) => run(scope, phase, payload.DeepClone(), t), ct);
    }

    /// <summary>A vote is a proposer's name (or <c>{ "vote": name }</c>); null abstains; anything else fails the vote phase.</summary>
    private static JsonNode? CheckVote(ConsensusPeer voter, JsonNode? answer, JsonObject offered)
    {
        var choice = answer switch
        {
            null => null,
            JsonValue text when text.TryGetValue<string>(out var name) => name,
            JsonObject { Count: 1 } bag when bag.TryGetPropertyValue("vote", out var inner) && inner is null => null,
            JsonObject { Count: 1 } bag when bag["vote"] is JsonValue text && text.TryGetValue<string>(out var name) => name,
            _ => throw new ConsensusPhaseFailedException(
                $"peer '{voter.Name}' answered {answer.ToJsonString()}: a vote is the name of a peer whose proposal it backs, {{ \"vote\": name }}, or null to abstain"),
        };
        if (choice is not null && !offered.ContainsKey(choice))
        {
            throw new ConsensusPhaseFailedException(
                $"peer '{voter.Name}' voted for '{choice}', which is not a proposal; proposals: {string.Join(", ", offered.Select(p => p.Key))}");
        }

        return choice;
    }
}
