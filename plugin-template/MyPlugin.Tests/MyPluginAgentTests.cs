using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace MyPlugin.Tests;

public sealed class MyPluginAgentTests
{
    [Fact]
    public async Task Upper_cases_the_text_and_counts_it()
    {
        var result = await new MyPluginAgent().RunAsync(new AgentTask("run", "step", new JsonObject { ["text"] = "hi" }), CancellationToken.None);

        Assert.True(result.Success, result.Error);
        Assert.Equal("HI", result.Output!["text"]!.GetValue<string>());
        Assert.Equal(2, result.Output!["length"]!.GetValue<int>());
    }

    [Fact]
    public async Task Fails_without_text()
    {
        var result = await new MyPluginAgent().RunAsync(new AgentTask("run", "step", null), CancellationToken.None);

        Assert.False(result.Success);
        Assert.Contains("text", result.Error);
    }
}
