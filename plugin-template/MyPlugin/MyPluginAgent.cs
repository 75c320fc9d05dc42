using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace MyPlugin;

/// <summary>
/// An agent. Scripts call it by its kind: <c>await Agent("myplugin").RunAsync(new { text = "hi" })</c> in C#,
/// <c>await agent("myplugin").run({ text: "hi" })</c> in JavaScript. The engine makes one instance per host and
/// may call it from several steps at once: keep it thread-safe.
/// </summary>
public sealed class MyPluginAgent : IAgent
{
    public string Kind => "myplugin";

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        // Input and output are JSON. A failure is a result, not an exception: the engine then tries the
        // step's recovery chain and applies its severity (an exception counts as a critical failure).
        if (task.Input?["text"]?.GetValue<string>() is not { } text)
        {
            return ValueTask.FromResult(AgentResult.Fail("myplugin needs { text: \"...\" }"));
        }

        return ValueTask.FromResult(AgentResult.Ok(new JsonObject
        {
            ["text"] = text.ToUpperInvariant(),
            ["length"] = text.Length,
        }));
    }
}
