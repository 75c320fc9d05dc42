using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace MyPlugin.Tests;

public sealed class MyPluginStrategyTests
{
    [Fact]
    public async Task Runs_the_task_again_until_it_succeeds()
    {
        var calls = 0;
        var context = new RecoveryContext(
            new AgentTask("run", "step", null),
            "flaky",
            AgentResult.Fail("first try failed"),
            new JsonObject { ["attempts"] = 3 },
            (_, _, _) => ValueTask.FromResult(++calls < 2 ? AgentResult.Fail("still failing") : AgentResult.Ok(JsonValue.Create("done"))));

        var result = await new MyPluginStrategy().TryRecoverAsync(context, CancellationToken.None);

        Assert.True(result!.Success);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Reports_the_last_failure_when_every_attempt_fails()
    {
        var context = new RecoveryContext(
            new AgentTask("run", "step", null),
            "broken",
            AgentResult.Fail("first try failed"),
            null,
            (_, _, _) => ValueTask.FromResult(AgentResult.Fail("still failing")));

        var result = await new MyPluginStrategy().TryRecoverAsync(context, CancellationToken.None);

        Assert.False(result!.Success);
        Assert.Contains("still failing", result.Error);
    }
}
