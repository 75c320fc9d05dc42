using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Jint.Native.Array;
using Jint.Native.Object;
using Jint.Runtime;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// Peer-to-peer consensus in JavaScript:
/// <c>await consensus(name, task, { peers, quorum, onNoQuorum, integrate, contribute, recovery, timeoutMs })</c>, where a
/// peer is an agent kind, <c>{ agent, name?, weight? }</c>, or <c>{ name, run: (phase, payload) => …, weight? }</c>.
/// </summary>
internal sealed partial class JavaScriptRun
{
    private const string ConsensusUsage = "consensus(name, task, options)";

    private static readonly string[] ConsensusOptionNames = ["peers", "quorum", "onNoQuorum", "integrate", "contribute", "recovery", "timeoutMs"];

    private static readonly string[] ConsensusPeerKeys = ["agent", "name", "weight", "run"];

    partial void InstallConsensus(Engine engine) =>
        engine.SetValue("consensus", Function("consensus", Consensus, 3));

    private JsValue Consensus(JsValue thisValue, JsValue[] arguments)
    {
        const string usage = ConsensusUsage;
        var name = RequireName(arguments, 0, usage, "name");
        var task = ToJsonArgument(Arg(arguments, 1), usage, "task");
        if (Arg(arguments, 2) is not ObjectInstance bag || bag.IsCallable())
        {
            throw TypeError($"{usage}: options must be an object such as {{ peers: [\"a\", \"b\", \"c\"], quorum: \"majority\" }}");
        }

        foreach (var key in bag.GetOwnPropertyKeys(Types.String))
        {
            if (Array.IndexOf(ConsensusOptionNames, key.ToString()) < 0)
            {
                throw TypeError($"{usage}: unknown option '{key}'; known: {string.Join(", ", ConsensusOptionNames)}");
            }
        }

        var integrate = bag.Get("integrate");
        if (!integrate.IsUndefined() && !integrate.IsNull() && !integrate.IsCallable())
        {
            throw TypeError($"{usage}: options.integrate must be a function(contributions, plan)");
        }

        var contribute = bag.Get("contribute");
        if (!contribute.IsUndefined() && !contribute.IsBoolean())
        {
            throw TypeError($"{usage}: options.contribute must be true or false");
        }

        var frame = _current;
        ConsensusPlan plan;
        try
        {
            plan = new ConsensusPlan
            {
                Peers = ConsensusPeers(bag.Get("peers")),
                Quorum = Quorum.Parse(ToJsonArgument(bag.Get("quorum"), usage, "options.quorum")),
                OnNoQuorum = ConsensusOnNoQuorum(bag.Get("onNoQuorum")),
                Contribute = !contribute.IsBoolean() || contribute.AsBoolean(),

                // Script functions run on the JS thread, in the scope of their own step.
                Integrate = integrate.IsCallable()
                    ? (scope, contributions, agreed, ct) => CallOnLoop(new ScopeFrame(scope, ct), integrate, () => [ToJs(contributions), ToJs(agreed)], inline: false)
                    : null,
                Recovery = ToJsonArgument(bag.Get("recovery"), usage, "options.recovery") is { } chain ? ScriptOptionParsing.RecoveryChain(chain) : null,
                Timeout = ToJsonArgument(bag.Get("timeoutMs"), usage, "options.timeoutMs") is { } ms ? ScriptOptionParsing.Milliseconds(ms, "timeoutMs") : null,
            };
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            throw TypeError($"{usage}: {ex.Message}");
        }

        return Start(frame, () => frame.Scope.ConsensusAsync(name, task, plan, frame.Token));
    }

    private List<ConsensusPeer> ConsensusPeers(JsValue value)
    {
        const string usage = ConsensusUsage;
        if (value is not ArrayInstance list)
        {
            throw TypeError($"{usage}: options.peers must be an array of agent kinds, {{ agent, name, weight }} or {{ name, run: (phase, payload) => ..., weight }}");
        }

        var peers = new List<ConsensusPeer>();
        var i = -1;
        foreach (var entry in list)
        {
            i++;
            if (entry.IsString())
            {
                peers.Add(ConsensusPeer.OfAgent(entry.AsString()));
                continue;
            }

            if (entry is not ObjectInstance peer || entry.IsCallable())
            {
                throw TypeError($"{usage}: options.peers[{i}] must be an agent kind or an object such as {{ agent: \"reviewer\", name: \"lead\", weight: 2 }}");
            }

            foreach (var key in peer.GetOwnPropertyKeys(Types.String))
            {
                if (Array.IndexOf(ConsensusPeerKeys, key.ToString()) < 0)
                {
                    throw TypeError($"{usage}: options.peers[{i}] has an unknown key '{key}'; known: {string.Join(", ", ConsensusPeerKeys)}");
                }
            }

            var agent = OptionalString(peer.Get("agent"), usage, $"options.peers[{i}].agent");
            var peerName = OptionalString(peer.Get("name"), usage, $"options.peers[{i}].name");
            var weightValue = peer.Get("weight");
            var weight = weightValue.IsUndefined() || weightValue.IsNull() ? 1
                : weightValue.IsNumber() ? weightValue.AsNumber()
                : throw TypeError($"{usage}: options.peers[{i}].weight must be a number");
            var run = peer.Get("run");
            if (run.IsCallable() == (agent is not null))
            {
                throw TypeError($"{usage}: options.peers[{i}] needs either an agent kind or a run function, not {(agent is null ? "neither" : "both")}");
            }

            if (agent is not null)
            {
                peers.Add(ConsensusPeer.OfAgent(agent, peerName, weight));
            }
            else
            {
                var peerLabel = peerName ?? throw TypeError($"{usage}: options.peers[{i}] needs a name for its run function");
                peers.Add(ConsensusPeer.OfFunction(peerLabel, (scope, phase, payload, ct) =>
                    CallOnLoop(new ScopeFrame(scope, ct), run, () => [phase, ToJs(payload)], inline: false), weight));
            }
        }

        return peers;
    }

    private NoQuorum ConsensusOnNoQuorum(JsValue value)
    {
        if (value.IsUndefined() || value.IsNull())
        {
            return NoQuorum.Throw;
        }

        return value.IsString() && value.AsString() is "throw" ? NoQuorum.Throw
            : value.IsString() && value.AsString() is "return" ? NoQuorum.ReturnOutcome
            : throw TypeError($"{ConsensusUsage}: options.onNoQuorum must be \"throw\" or \"return\", not {DescribeValue(value)}");
    }
}
