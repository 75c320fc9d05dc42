using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Agents.Llm;
using static Orchestrator.Agents.Tests.TestSupport;

namespace Orchestrator.Agents.Tests;

/// <summary>The llm agent as a consensus peer and as a listener on its channel, against a chat server on loopback.</summary>
public sealed class LlmPeerTests
{
    private static LlmAgent AgentFor(LoopbackServer server) =>
        new(() => LlmSettings.None, name => name switch
        {
            "ORCHESTRATOR_LLM_ENDPOINT" => server.BaseUrl + "v1",
            "ORCHESTRATOR_LLM_MODEL" => "tiny",
            _ => null,
        });

    private static Func<System.Net.HttpListenerContext, SeenRequest, Task> Replying(string text) => (ctx, _) => LoopbackServer.Respond(ctx, 200, new JsonObject
    {
        ["id"] = "c1", ["object"] = "chat.completion", ["created"] = 1764300000, ["model"] = "tiny",
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text }, ["finish_reason"] = "stop" }),
    }.ToJsonString(), "application/json");

    private static JsonArray Messages(SeenRequest seen) => JsonNode.Parse(seen.Body)!["messages"]!.AsArray();

    [Fact]
    public void The_standard_agents_declare_what_they_can_do()
    {
        new LlmAgent().Capabilities.Should().BeEquivalentTo("chat", "propose", "vote", "contribute");
        new Shell.ShellAgent().Capabilities.Should().Equal("exec");
        new Http.HttpAgent().Capabilities.Should().Equal("http-request");
    }

    [Fact]
    public async Task A_proposal_is_the_models_answer_to_the_task_with_the_task_objects_settings()
    {
        await using var server = new LoopbackServer(Replying("  Use a queue.\n"));
        var input = JsonNode.Parse("""{ "phase": "propose", "peer": "a", "task": { "prompt": "How to ship?", "model": "big", "temperature": 0, "system": "Be brief." } }""");

        var result = await AgentFor(server).RunAsync(TaskOf(input), default);

        result.Success.Should().BeTrue(result.Error);
        result.Output!.GetValue<string>().Should().Be("Use a queue.");
        var body = JsonNode.Parse(server.Seen.Single().Body)!;
        body["model"]!.GetValue<string>().Should().Be("big");
        body["temperature"]!.GetValue<double>().Should().Be(0);
        var messages = Messages(server.Seen.Single());
        messages[0]!["content"]!.GetValue<string>().Should().StartWith("Be brief.\n\nYou are a, one of several peers");
        messages[1]!["content"]!.GetValue<string>().Should().Be("Task:\nHow to ship?");
    }

    [Theory]
    [InlineData("b", "b")]
    [InlineData("\"B\".", "b")]
    [InlineData("I back b: it is safer.", "b")]
    [InlineData("Both a and b are fine.", null)]
    [InlineData("None of them.", null)]
    [InlineData("abc", null)]
    public async Task A_vote_is_the_one_proposer_the_answer_names_or_an_abstention(string answer, string? vote)
    {
        await using var server = new LoopbackServer(Replying(answer));
        var input = JsonNode.Parse("""{ "phase": "vote", "peer": "c", "task": "How to ship?", "proposals": { "a": "Use a queue.", "b": "Use a flag." } }""");

        var result = await AgentFor(server).RunAsync(TaskOf(input), default);

        result.Success.Should().BeTrue(result.Error);
        (result.Output?.GetValue<string>()).Should().Be(vote);
        Messages(server.Seen.Single())[^1]!["content"]!.GetValue<string>().Should().Be("Task:\nHow to ship?\n\nProposals:\n\n[a]\nUse a queue.\n\n[b]\nUse a flag.");
    }

    [Theory]
    [InlineData("[\"read the logs\", \"check the disk\"]")]
    [InlineData("Here you are:\n```json\n[\"read the logs\", \"check the disk\"]\n```")]
    public async Task A_masters_split_is_the_json_array_the_model_answers_each_string_a_prompt(string answer)
    {
        await using var server = new LoopbackServer(Replying(answer));

        var result = await AgentFor(server).RunAsync(TaskOf(JsonNode.Parse("""{ "phase": "split", "task": "Why is the site down?" }""")), default);

        result.Success.Should().BeTrue(result.Error);
        result.Output!.ToJsonString().Should().Be("""[{"prompt":"read the logs"},{"prompt":"check the disk"}]""");
        Messages(server.Seen.Single())[0]!["content"]!.GetValue<string>().Should().Contain("Answer with a JSON array of strings");
    }

    [Fact]
    public async Task A_split_that_is_not_a_json_array_fails_the_step_with_what_the_model_said()
    {
        await using var server = new LoopbackServer(Replying("I would first read the logs."));

        var result = await AgentFor(server).RunAsync(TaskOf(JsonNode.Parse("""{ "phase": "split", "task": "Why is the site down?" }""")), default);

        result.Success.Should().BeFalse();
        result.Error.Should().Be("llm: the model's split is not a JSON array of subtasks: I would first read the logs.");
    }

    [Fact]
    public async Task A_master_integrates_the_workers_results_in_order()
    {
        await using var server = new LoopbackServer(Replying("The disk is full."));

        var result = await AgentFor(server).RunAsync(TaskOf(JsonNode.Parse("""{ "phase": "integrate", "task": "Why is the site down?", "results": ["logs: no space left", "disk: 100%"] }""")), default);

        result.Output!.GetValue<string>().Should().Be("The disk is full.");
        Messages(server.Seen.Single())[^1]!["content"]!.GetValue<string>().Should().Be("Task:\nWhy is the site down?\n\nResults:\n\n[0]\nlogs: no space left\n\n[1]\ndisk: 100%");
    }

    [Fact]
    public async Task A_bare_string_input_is_the_prompt()
    {
        await using var server = new LoopbackServer(Replying("4"));

        var result = await AgentFor(server).RunAsync(TaskOf(JsonValue.Create("2 + 2?")), default);

        result.Output!["text"]!.GetValue<string>().Should().Be("4");
        Messages(server.Seen.Single()).Single()!["content"]!.GetValue<string>().Should().Be("2 + 2?");
    }

    [Fact]
    public async Task A_strategy_change_reaches_the_model_in_that_runs_later_requests_until_the_run_is_cancelled()
    {
        await using var server = new LoopbackServer(Replying("ok"));
        var agent = AgentFor(server);
        var change = JsonNode.Parse("""{ "phase": "review", "from": { "name": "fast" }, "to": { "name": "careful" }, "score": 0.25 }""");

        await agent.OnMessageAsync(new AgentMessage(AgentMessage.StrategyChanged, "run-1", change), default);
        await agent.RunAsync(TaskOf(JsonNode.Parse("""{ "prompt": "next item" }""")), default);
        await agent.RunAsync(new AgentTask("run-2", "step-1", JsonNode.Parse("""{ "prompt": "other run" }""")), default);
        await agent.OnMessageAsync(new AgentMessage(AgentMessage.Cancellation, "run-1", null), default);
        await agent.RunAsync(TaskOf(JsonNode.Parse("""{ "prompt": "after cancel" }""")), default);

        var seen = server.Seen.Select(Messages).ToList();
        seen[0][0]!["content"]!.GetValue<string>().Should().Be(
            "Note from the orchestrator: phase 'review' switched from strategy 'fast' to 'careful' (its effectiveness was 0.25); work under the new strategy.");
        seen[1].Should().ContainSingle("another run was not told");
        seen[2].Should().ContainSingle("the cancelled run's notes are gone");
    }

    [Fact]
    public void Notes_are_bounded_in_runs_and_per_run()
    {
        var notes = new RunNotes();
        for (var i = 0; i < RunNotes.MaxRuns + 10; i++)
        {
            notes.Add("run-" + i, "note");
        }

        for (var i = 0; i < RunNotes.MaxNotesPerRun + 3; i++)
        {
            notes.Add("run-last", "note " + i);
        }

        notes.For("run-0").Should().BeNull("the oldest runs were let go");
        notes.For("run-" + (RunNotes.MaxRuns + 9)).Should().Be("note");
        notes.For("run-last")!.Split('\n').Should().HaveCount(RunNotes.MaxNotesPerRun).And.EndWith("note " + (RunNotes.MaxNotesPerRun + 2));
    }
}
