using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace Orchestrator.Tests.Consensus;

/// <summary>
/// A consensus peer whose every answer the test scripts through the task: the task maps each peer name to
/// <c>{ "propose": proposal, "vote": name, "contribute"?: value, "fail"?: phase, "failOnce"?: phase }</c>. Without
/// <c>contribute</c> a peer contributes <c>"&lt;peer&gt; works on &lt;plan&gt;"</c>. Counts calls per step id.
/// </summary>
internal sealed class ScriptedPeerAgent(string kind = "peer") : IAgent
{
    public ConcurrentDictionary<string, int> Calls { get; } = new();

    public ConcurrentBag<string> Phases { get; } = [];

    public string Kind => kind;

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var call = Calls.AddOrUpdate(task.StepId, 1, (_, n) => n + 1);
        var phase = task.Input!["phase"]!.GetValue<string>();
        var peer = task.Input!["peer"]!.GetValue<string>();
        Phases.Add(phase + "/" + peer);
        var script = task.Input!["task"]![peer]!;
        if (script["fail"]?.GetValue<string>() == phase || (script["failOnce"]?.GetValue<string>() == phase && call == 1))
        {
            return ValueTask.FromResult(AgentResult.Fail($"{peer} cannot {phase}"));
        }

        var answer = phase switch
        {
            "propose" => script["propose"]?.DeepClone(),
            "vote" => script["vote"]?.DeepClone(),
            _ => script["contribute"]?.DeepClone() ?? JsonValue.Create($"{peer} works on {Describe(task.Input!["plan"])}"),
        };
        return ValueTask.FromResult(AgentResult.Ok(answer));
    }

    private static string Describe(JsonNode? plan) => plan is JsonValue v && v.TryGetValue<string>(out var text) ? text : plan?.ToJsonString() ?? "null";
}
