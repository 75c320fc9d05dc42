using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Agents.Tests;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Examples;

/// <summary>The examples that reach external systems, run against real servers the tests start on loopback.</summary>
public sealed class IntegrationExamplesTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string Store => Path.Combine(_dir.Path, "store");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Ask_llm_sends_the_question_to_an_openai_compatible_server_and_hands_off_the_answer()
    {
        await using var server = new LoopbackServer((ctx, _) => LoopbackServer.Respond(ctx, 200, """
            {"id":"c1","object":"chat.completion","created":1764300000,"model":"tiny",
             "choices":[{"index":0,"message":{"role":"assistant","content":"2, 3 and 5."},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}
            """, "application/json"));
        var input = new JsonObject { ["question"] = "Three primes?", ["endpoint"] = server.BaseUrl + "v1", ["model"] = "tiny" };

        var result = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, "ask-llm.js"), "--store", Store, "--json", "--input", input.ToJsonString());

        result.ExitCode.Should().Be(0, result.ToString());
        var request = JsonNode.Parse(server.Seen.Should().ContainSingle().Subject.Body)!;
        request["model"]!.GetValue<string>().Should().Be("tiny");
        request["messages"]!.AsArray().Select(m => m!["content"]!.GetValue<string>()).Should().Equal("Answer in one short sentence.", "Three primes?");
        var outcome = JsonNode.Parse(result.LastLine)!;
        outcome["result"]!.ToJsonString().Should().Be("""{"question":"Three primes?","answer":"2, 3 and 5.","model":"tiny","finishReason":"stop","tokens":18}""");
        File.ReadAllText(outcome["report"]!.GetValue<string>()).Should().Contain("2, 3 and 5.");
    }

    [Fact]
    public async Task Release_status_reads_git_through_a_process_connector_and_posts_to_a_webhook_with_a_masked_token()
    {
        const string token = "demo-webhook-token-4c1f9e";
        await using var server = new LoopbackServer((ctx, seen) => LoopbackServer.Respond(ctx, seen.Headers.GetValueOrDefault("Authorization") == "Bearer " + token ? 200 : 401, """{"ok":true}""", "application/json"));
        var input = new JsonObject { ["webhook"] = server.BaseUrl };

        var result = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, "connectors", "release-status.csx"), "--store", Store, "--json", "--input", input.ToJsonString());

        result.ExitCode.Should().Be(0, result.ToString());
        var summary = JsonNode.Parse(result.LastLine)!["result"]!;
        summary["commit"]!.GetValue<string>().Should().MatchRegex("^[0-9a-f]{7,}$");
        summary["gitHealthy"]!.GetValue<bool>().Should().BeTrue();
        summary["webhookHealthy"]!.GetValue<bool>().Should().BeTrue();
        summary["delivered"]!.GetValue<int>().Should().Be(200);
        var posted = server.Seen.Should().ContainSingle(r => r.Method == "POST").Subject;
        JsonNode.Parse(posted.Body)!["commit"]!.GetValue<string>().Should().Be(summary["commit"]!.GetValue<string>());
        foreach (var file in Directory.EnumerateFiles(Store, "*", SearchOption.AllDirectories))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            copy.ToArray().AsSpan().IndexOf(Encoding.UTF8.GetBytes(token)).Should().Be(-1, $"{file} must not contain the webhook token");
        }
    }
}
