using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Jint.Native.Array;
using Jint.Native.Object;
using Jint.Runtime;
using Orchestrator.Core.Verbs;
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

    private static readonly string[] ConsensusPeerKeys = ["agent", "name", "weight", "run"];

    private JsValue Consensus(JsValue thisValue, JsValue[] arguments)
    {
        var verb = DslVerbs.Consensus;
        var name = RequireName(arguments, 0, verb.Usage, "name");
        var task = ToJsonArgument(Arg(arguments, 1), verb.Usage, "task");
        var options = Options(verb, Arg(arguments, 2), required: true, example: "{ peers: [\"a\", \"b\", \"c\"], quorum: \"majority\" }");
        var integrate = options.Function("integrate");
        var frame = _current;
        var plan = new ConsensusPlan
        {
            Peers = ConsensusPeers(options.Raw("peers")),
            Quorum = Quorum.Parse(options.Values.Json("quorum")),
            OnNoQuorum = options.Values.Text("onNoQuorum") == "return" ? NoQuorum.ReturnOutcome : NoQuorum.Throw,
            Contribute = options.Values.Get<bool>("contribute"),

            // Script functions run on the JS thread, in the scope of their own step.
            Integrate = integrate is null
                ? null
                : (scope, contributions, agreed, ct) => CallOnLoop(new ScopeFrame(scope, ct), integrate, () => [ToJs(contributions), ToJs(agreed)], inline: false),
            Recovery = options.Values.Json("recovery") is { } chain ? ScriptOptionParsing.RecoveryChain(chain) : null,
            Timeout = options.Values.Optional<TimeSpan>("timeoutMs"),
        };
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
}
