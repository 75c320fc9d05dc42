using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Recovery.Fallback;
using static Orchestrator.Agents.Tests.Recovery.RecoveryHarness;

namespace Orchestrator.Agents.Tests.Recovery;

public sealed class FallbackStrategyTests
{
    private readonly FallbackStrategy _strategy = new();

    [Fact]
    public void Is_named_fallback() => _strategy.Name.Should().Be("fallback");

    [Fact]
    public async Task Runs_the_named_agent_once_with_the_original_input_as_the_next_attempt()
    {
        var agent = new ScriptedAgent((_, task) => AgentResult.Ok(JsonValue.Create($"backup did attempt {task.Attempt}")));
        var context = Context(agent.RunAsync, """{"agent":"backup"}""", attempt: 2, inputJson: """{"url":"https://primary"}""");

        var result = await _strategy.TryRecoverAsync(context, CancellationToken.None);

        result!.Success.Should().BeTrue();
        result.Output!.GetValue<string>().Should().Be("backup did attempt 3");
        agent.Calls.Should().ContainSingle();
        var call = agent.Calls[0];
        call.Kind.Should().Be("backup");
        call.Task.Attempt.Should().Be(3);
        call.Task.RunId.Should().Be("run-1");
        call.Task.StepId.Should().Be("step-1");
        JsonNode.DeepEquals(call.Task.Input, JsonNode.Parse("""{"url":"https://primary"}""")).Should().BeTrue();
    }

    [Fact]
    public async Task An_input_option_replaces_the_input_with_a_copy()
    {
        var agent = new ScriptedAgent((_, _) => AgentResult.Ok());
        var context = Context(agent.RunAsync, """{"agent":"backup","input":{"url":"https://mirror","retries":[1,2]}}""");

        (await _strategy.TryRecoverAsync(context, CancellationToken.None))!.Success.Should().BeTrue();

        var input = agent.Calls.Single().Task.Input;
        JsonNode.DeepEquals(input, JsonNode.Parse("""{"url":"https://mirror","retries":[1,2]}""")).Should().BeTrue();
        input.Should().NotBeSameAs(context.Options!["input"], "the agent gets its own copy, not a node of the options tree");
        JsonNode.DeepEquals(context.Task.Input, JsonNode.Parse("""{"x":1}""")).Should().BeTrue("the failed task is left as it was");
    }

    [Fact]
    public async Task An_explicit_null_input_replaces_the_input_with_null()
    {
        var agent = new ScriptedAgent((_, _) => AgentResult.Ok());

        await _strategy.TryRecoverAsync(Context(agent.RunAsync, """{"agent":"backup","input":null}"""), CancellationToken.None);

        agent.Calls.Single().Task.Input.Should().BeNull();
    }

    [Fact]
    public async Task May_fall_back_to_the_same_kind_as_the_failed_agent()
    {
        var agent = new ScriptedAgent((_, _) => AgentResult.Ok(JsonValue.Create("second time lucky")));

        var result = await _strategy.TryRecoverAsync(Context(agent.RunAsync, """{"agent":"flaky","input":{"safe":true}}"""), CancellationToken.None);

        result!.Success.Should().BeTrue();
        agent.Calls.Single().Kind.Should().Be(FailedKind);
    }

    [Fact]
    public async Task A_failed_fallback_names_the_agent_and_keeps_its_output_and_severity()
    {
        var agent = new ScriptedAgent((_, _) => AgentResult.Fail("mirror unreachable", JsonValue.Create(503), Severity.Moderate));

        var result = await _strategy.TryRecoverAsync(Context(agent.RunAsync, """{"agent":"mirror"}"""), CancellationToken.None);

        result!.Success.Should().BeFalse();
        result.Error.Should().Be("fallback to 'mirror' failed: mirror unreachable");
        result.Output!.GetValue<int>().Should().Be(503);
        result.Severity.Should().Be(Severity.Moderate);
        agent.CallCount.Should().Be(1, "a fallback runs once");
    }

    [Fact]
    public async Task An_exception_from_run_agent_becomes_a_failure_naming_the_agent()
    {
        var agent = new ScriptedAgent((_, _) => throw new InvalidOperationException("no agent of kind 'mirror'"));

        var result = await _strategy.TryRecoverAsync(Context(agent.RunAsync, """{"agent":"mirror"}"""), CancellationToken.None);

        result!.Error.Should().Be("fallback to 'mirror' failed: InvalidOperationException: no agent of kind 'mirror'");
    }

    [Theory]
    [InlineData(null, "fallback: agent: required (the kind of agent to run instead)")]
    [InlineData("{}", "fallback: agent: required (the kind of agent to run instead)")]
    [InlineData("""{"agent":null}""", "fallback: agent: required (the kind of agent to run instead)")]
    [InlineData("""{"input":{"x":2}}""", "fallback: agent: required (the kind of agent to run instead)")]
    [InlineData("""{"agent":""}""", "fallback: agent: must be a non-empty string (an agent kind), got \"\"")]
    [InlineData("""{"agent":"  "}""", "fallback: agent: must be a non-empty string (an agent kind), got \"  \"")]
    [InlineData("""{"agent":42}""", "fallback: agent: must be a non-empty string (an agent kind), got 42")]
    [InlineData("\"mirror\"", "fallback: options: must be a JSON object with \"agent\", got \"mirror\"")]
    [InlineData("""{"agent":"mirror","inputs":{}}""", "fallback: inputs: unknown option (known: agent, input)")]
    public async Task Bad_options_return_a_clear_failure_without_running_anything(string? optionsJson, string expected)
    {
        var agent = new ScriptedAgent((_, _) => AgentResult.Ok());

        var result = await _strategy.TryRecoverAsync(Context(agent.RunAsync, optionsJson), CancellationToken.None);

        result!.Success.Should().BeFalse();
        result.Error.Should().Be(expected);
        agent.CallCount.Should().Be(0);
    }

    [Fact]
    public async Task Cancellation_propagates()
    {
        var agent = new ScriptedAgent((_, _) => AgentResult.Ok());

        var act = () => _strategy.TryRecoverAsync(Context(agent.RunAsync, """{"agent":"mirror"}"""), new CancellationToken(canceled: true)).AsTask();

        await act.Should().ThrowAsync<OperationCanceledException>();
    }
}
