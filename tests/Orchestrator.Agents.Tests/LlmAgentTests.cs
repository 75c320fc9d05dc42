using System.Text.Json.Nodes;
using Orchestrator.Agents.Llm;
using static Orchestrator.Agents.Tests.TestSupport;

namespace Orchestrator.Agents.Tests;

/// <summary>The llm agent against a real OpenAI-compatible HTTP server on loopback that answers /v1/chat/completions.</summary>
public sealed class LlmAgentTests
{
    private const string Completion = """
        {
          "id": "chatcmpl-1", "object": "chat.completion", "created": 1764300000, "model": "tiny-llm-2",
          "choices": [{ "index": 0, "message": { "role": "assistant", "content": "Paris is the capital of France." }, "finish_reason": "stop" }],
          "usage": { "prompt_tokens": 21, "completion_tokens": 7, "total_tokens": 28 }
        }
        """;

    private static LlmAgent AgentWith(Dictionary<string, string>? environment = null, LlmSettings? settings = null) =>
        new(() => settings ?? LlmSettings.None, name => environment?.GetValueOrDefault(name));

    private static Task Answer(System.Net.HttpListenerContext ctx, SeenRequest _) => LoopbackServer.Respond(ctx, 200, Completion, "application/json");

    [Fact]
    public void Kind_is_llm() => AgentWith().Kind.Should().Be("llm");

    [Fact]
    public async Task Chat_request_carries_model_messages_and_key_and_the_answer_is_parsed()
    {
        await using var server = new LoopbackServer(Answer);
        var agent = AgentWith(new() { ["ORCHESTRATOR_LLM_ENDPOINT"] = server.BaseUrl + "v1", ["ORCHESTRATOR_LLM_API_KEY"] = "sk-test-123" });
        var input = new JsonObject
        {
            ["model"] = "tiny-llm",
            ["system"] = "Answer in one sentence.",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Capital of France?" }),
            ["temperature"] = 0,
            ["maxTokens"] = 50,
        };

        var result = await agent.RunAsync(TaskOf(input), default);

        result.Success.Should().BeTrue(result.Error);
        var seen = server.Seen.Should().ContainSingle().Subject;
        seen.Method.Should().Be("POST");
        seen.PathAndQuery.Should().Be("/v1/chat/completions");
        seen.Headers["Authorization"].Should().Be("Bearer sk-test-123");
        var body = JsonNode.Parse(seen.Body)!;
        body["model"]!.GetValue<string>().Should().Be("tiny-llm");
        body["messages"]!.AsArray().Select(m => (m!["role"]!.GetValue<string>(), m["content"]!.GetValue<string>()))
            .Should().Equal(("system", "Answer in one sentence."), ("user", "Capital of France?"));
        body["temperature"]!.GetValue<double>().Should().Be(0);
        (body["max_completion_tokens"] ?? body["max_tokens"])!.GetValue<int>().Should().Be(50);

        var output = result.Output!;
        output["text"]!.GetValue<string>().Should().Be("Paris is the capital of France.");
        output["model"]!.GetValue<string>().Should().Be("tiny-llm-2", "the model the server says answered");
        output["finishReason"]!.GetValue<string>().Should().Be("stop");
        output["usage"]!["inputTokens"]!.GetValue<long>().Should().Be(21);
        output["usage"]!["outputTokens"]!.GetValue<long>().Should().Be(7);
        output["usage"]!["totalTokens"]!.GetValue<long>().Should().Be(28);
    }

    [Fact]
    public async Task A_prompt_in_the_input_with_endpoint_and_model_there_too_sends_one_user_message_and_no_key()
    {
        await using var server = new LoopbackServer(Answer);

        var result = await AgentWith().RunAsync(TaskOf(new JsonObject { ["endpoint"] = server.BaseUrl + "v1", ["model"] = "m", ["prompt"] = "hi" }), default);

        result.Success.Should().BeTrue(result.Error);
        var seen = server.Seen.Should().ContainSingle().Subject;
        seen.Headers.Should().NotContainKey("Authorization", "a local server needs no key and gets none");
        var messages = JsonNode.Parse(seen.Body)!["messages"]!.AsArray();
        messages.Should().ContainSingle();
        messages[0]!["role"]!.GetValue<string>().Should().Be("user");
        messages[0]!["content"]!.GetValue<string>().Should().Be("hi");
    }

    [Fact]
    public async Task OpenAI_variables_and_a_named_key_variable_are_used_when_the_orchestrator_ones_are_unset()
    {
        await using var server = new LoopbackServer(Answer);
        var agent = AgentWith(
            new() { ["OPENAI_BASE_URL"] = server.BaseUrl + "v1", ["OPENAI_MODEL"] = "from-env", ["MY_KEY"] = "k-42" },
            new LlmSettings(null, null, "MY_KEY"));

        var result = await agent.RunAsync(TaskOf("""{"prompt":"x"}"""), default);

        result.Success.Should().BeTrue(result.Error);
        var seen = server.Seen.Should().ContainSingle().Subject;
        seen.Headers["Authorization"].Should().Be("Bearer k-42");
        JsonNode.Parse(seen.Body)!["model"]!.GetValue<string>().Should().Be("from-env");
    }

    [Theory]
    [InlineData(401, """{"error":{"message":"Incorrect API key provided: sk-bad","type":"invalid_request_error","code":"invalid_api_key"}}""", "returned 401")]
    [InlineData(500, """{"error":{"message":"the model crashed","type":"server_error"}}""", "returned 500")]
    public async Task An_error_status_fails_with_the_status_and_the_servers_message_without_the_key(int status, string body, string expected)
    {
        await using var server = new LoopbackServer((ctx, _) => LoopbackServer.Respond(ctx, status, body, "application/json"));
        var agent = AgentWith(new() { ["ORCHESTRATOR_LLM_API_KEY"] = "sk-bad" });

        var result = await agent.RunAsync(TaskOf(new JsonObject { ["endpoint"] = server.BaseUrl + "v1", ["model"] = "m", ["prompt"] = "hi" }), default);

        result.Success.Should().BeFalse();
        result.Error.Should().StartWith($"llm m at {server.BaseUrl}v1 {expected}");
        result.Error.Should().NotContain("sk-bad");
        result.Output!["status"]!.GetValue<int>().Should().Be(status);
        server.Seen.Should().ContainSingle("the client must not retry behind the recovery chain's back");
    }

    [Fact]
    public async Task An_unreachable_server_fails_with_a_clear_message()
    {
        var endpoint = $"http://127.0.0.1:{LoopbackServer.FreePort()}/v1";

        var result = await AgentWith().RunAsync(TaskOf(new JsonObject { ["endpoint"] = endpoint, ["model"] = "m", ["prompt"] = "hi" }), default);

        result.Success.Should().BeFalse();
        result.Error.Should().StartWith($"llm m at {endpoint} is unreachable: ").And.Contain("refused");
    }

    [Fact]
    public async Task A_server_that_does_not_answer_in_time_fails_as_timed_out()
    {
        LoopbackServer? self = null;
        await using var server = self = new LoopbackServer(async (_, _) => await self!.Stopping);

        var result = await AgentWith().RunAsync(TaskOf(new JsonObject { ["endpoint"] = server.BaseUrl + "v1", ["model"] = "m", ["prompt"] = "hi", ["timeoutMs"] = 200 }), default);

        result.Success.Should().BeFalse();
        result.Error.Should().EndWith("timed out after 200 ms");
    }

    [Theory]
    [InlineData("null", "llm: input must be a string (the prompt) or a JSON object")]
    [InlineData("42", "llm: input must be a string (the prompt) or a JSON object")]
    [InlineData("""{"model":"m","prompt":"x"}""", "llm: no endpoint")]
    [InlineData("""{"endpoint":"http://127.0.0.1:1/v1","prompt":"x"}""", "llm: no model")]
    [InlineData("""{"endpoint":"ftp://x/v1","model":"m","prompt":"x"}""", "llm: the endpoint must be an absolute http")]
    [InlineData("""{"endpoint":"http://127.0.0.1:1/v1","model":"m"}""", "llm: give a 'prompt' or 'messages'")]
    [InlineData("""{"endpoint":"http://127.0.0.1:1/v1","model":"m","messages":[{"role":"robot","content":"x"}]}""", "llm: messages[0].role must be")]
    [InlineData("""{"endpoint":"http://127.0.0.1:1/v1","model":"m","prompt":"x","apiKey":"sk-1"}""", "llm: 'apiKey' is not accepted")]
    [InlineData("""{"endpoint":"http://127.0.0.1:1/v1","model":"m","prompt":"x","apiKeyEnv":"NOT_SET_ANYWHERE"}""", "llm: the environment variable 'NOT_SET_ANYWHERE'")]
    [InlineData("""{"endpoint":"http://127.0.0.1:1/v1","model":"m","prompt":"x","maxTokens":0}""", "llm: 'maxTokens' must be")]
    public async Task Bad_input_fails_with_a_clear_message(string inputJson, string expectedStart)
    {
        var result = await AgentWith().RunAsync(TaskOf(inputJson), default);

        result.Success.Should().BeFalse();
        result.Error.Should().StartWith(expectedStart);
    }

    [Fact]
    public async Task Llm_json_beside_the_plugin_gives_defaults_and_a_malformed_one_fails_naming_the_file()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(LlmSettings.FileName), """{ "endpoint": "http://127.0.0.1:9/v1", "model": "configured", "apiKeyEnv": "MY_LLM_KEY" }""");
        var settings = LlmSettings.Load(dir.Path);
        using var bad = new TempDir();
        File.WriteAllText(bad.File(LlmSettings.FileName), "{ not json");

        settings.Should().Be(new LlmSettings("http://127.0.0.1:9/v1", "configured", "MY_LLM_KEY"));
        LlmSettings.Load(Path.Combine(dir.Path, "missing")).Should().Be(LlmSettings.None);
        var result = await new LlmAgent(() => LlmSettings.Load(bad.Path), _ => null).RunAsync(TaskOf("""{"prompt":"x"}"""), default);
        result.Success.Should().BeFalse();
        result.Error.Should().StartWith("llm: " + bad.File(LlmSettings.FileName) + ": invalid JSON");
    }
}
