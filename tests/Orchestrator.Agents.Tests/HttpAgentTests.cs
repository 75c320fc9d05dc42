using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Agents.Http;
using static Orchestrator.Agents.Tests.TestSupport;

namespace Orchestrator.Agents.Tests;

public sealed class HttpAgentTests
{
    private readonly HttpAgent _agent = new();

    [Fact]
    public void Kind_is_http() => _agent.Kind.Should().Be("http");

    [Fact]
    public void Each_host_is_a_circuit_target_of_its_own()
    {
        _agent.TargetOf(TestSupport.TaskOf("""{"url":"https://api.example.com:8443/v1/items"}""")).Should().Be("api.example.com:8443");
        _agent.TargetOf(TestSupport.TaskOf("""{"url":"not a url"}""")).Should().BeNull();
    }

    [Fact]
    public async Task Get_is_the_default_and_returns_status_headers_and_body()
    {
        await using var server = new LoopbackServer(async (ctx, _) =>
        {
            ctx.Response.Headers["X-Reply"] = "yes";
            await LoopbackServer.Respond(ctx, 200, "hello");
        });

        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["url"] = server.BaseUrl + "greet?x=1" }), default);

        result.Success.Should().BeTrue(result.Error);
        server.Seen.Should().ContainSingle().Which.Should().Match<SeenRequest>(r => r.Method == "GET" && r.PathAndQuery == "/greet?x=1");
        var output = result.Output!.AsObject();
        output["status"]!.GetValue<int>().Should().Be(200);
        output["body"]!.GetValue<string>().Should().Be("hello");
        output["headers"]!["x-reply"]!.GetValue<string>().Should().Be("yes");
        output["headers"]!["content-type"]!.GetValue<string>().Should().Be("text/plain; charset=utf-8");
        output.ContainsKey("json").Should().BeFalse("the body is not JSON");
        output["durationMs"]!.GetValue<double>().Should().BeGreaterThanOrEqualTo(0);
    }

    [Fact]
    public async Task Method_and_headers_are_sent()
    {
        await using var server = new LoopbackServer((ctx, _) => LoopbackServer.Respond(ctx, 204, ""));
        var input = new JsonObject
        {
            ["url"] = server.BaseUrl + "items/7",
            ["method"] = "delete",
            ["headers"] = new JsonObject { ["Authorization"] = "Bearer abc", ["X-Custom"] = "v 1", ["User-Agent"] = "my-agent/2" },
        };

        var result = await _agent.RunAsync(TaskOf(input), default);

        result.Success.Should().BeTrue(result.Error);
        result.Output!["status"]!.GetValue<int>().Should().Be(204);
        var seen = server.Seen.Should().ContainSingle().Subject;
        seen.Method.Should().Be("DELETE");
        seen.Headers["Authorization"].Should().Be("Bearer abc");
        seen.Headers["X-Custom"].Should().Be("v 1");
        seen.Headers["User-Agent"].Should().Be("my-agent/2", "an input header replaces the default User-Agent");
    }

    [Fact]
    public async Task Json_body_is_sent_as_application_json_and_a_json_response_is_parsed()
    {
        // The server echoes the request body back as JSON.
        await using var server = new LoopbackServer((ctx, seen) => LoopbackServer.Respond(ctx, 201, seen.Body, "application/json; charset=utf-8"));
        var body = JsonNode.Parse("""{"name":"ada","tags":["x",null,true],"n":1.5,"nested":{"k":[]}}""");

        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["url"] = server.BaseUrl, ["method"] = "POST", ["body"] = body!.DeepClone() }), default);

        result.Success.Should().BeTrue(result.Error);
        var seen = server.Seen.Should().ContainSingle().Subject;
        seen.Headers["Content-Type"].Should().StartWith("application/json");
        JsonNode.DeepEquals(JsonNode.Parse(seen.Body), body).Should().BeTrue("the server received the JSON body: " + seen.Body);
        JsonNode.DeepEquals(result.Output!["json"], body).Should().BeTrue("the JSON response was parsed: " + result.Output.ToJsonString());
        result.Output["status"]!.GetValue<int>().Should().Be(201);
    }

    [Theory]
    [InlineData(null, "text/plain; charset=utf-8")]
    [InlineData("application/xml", "application/xml")]
    public async Task String_body_is_sent_as_is_with_text_plain_unless_a_content_type_header_is_given(string? contentType, string expectedContentType)
    {
        await using var server = new LoopbackServer((ctx, _) => LoopbackServer.Respond(ctx, 200, "ok"));
        var input = new JsonObject { ["url"] = server.BaseUrl, ["method"] = "PUT", ["body"] = "<a>{not json}</a>" };
        if (contentType is not null)
        {
            input["headers"] = new JsonObject { ["Content-Type"] = contentType };
        }

        var result = await _agent.RunAsync(TaskOf(input), default);

        result.Success.Should().BeTrue(result.Error);
        var seen = server.Seen.Should().ContainSingle().Subject;
        seen.Body.Should().Be("<a>{not json}</a>");
        seen.Headers["Content-Type"].Should().Be(expectedContentType);
    }

    [Fact]
    public async Task Not_found_fails_with_method_url_status_and_reason_and_keeps_the_output()
    {
        await using var server = new LoopbackServer((ctx, _) => LoopbackServer.Respond(ctx, 404, """{"error":"no such thing"}""", "application/problem+json"));
        var url = server.BaseUrl + "missing";

        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["url"] = url }), default);

        result.Success.Should().BeFalse();
        result.Error.Should().Be($"GET {url} returned 404 Not Found");
        result.Output!["status"]!.GetValue<int>().Should().Be(404);
        result.Output["body"]!.GetValue<string>().Should().Contain("no such thing");
        result.Output["json"]!["error"]!.GetValue<string>().Should().Be("no such thing", "+json media types are parsed too");
    }

    [Fact]
    public async Task Json_content_type_with_an_invalid_body_returns_the_text_without_json()
    {
        await using var server = new LoopbackServer((ctx, _) => LoopbackServer.Respond(ctx, 200, "{oops", "application/json"));

        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["url"] = server.BaseUrl }), default);

        result.Success.Should().BeTrue(result.Error);
        result.Output!["body"]!.GetValue<string>().Should().Be("{oops");
        result.Output.AsObject().ContainsKey("json").Should().BeFalse();
    }

    [Fact]
    public async Task Header_values_and_url_credentials_never_appear_in_error_messages()
    {
        const string secret = "Bearer sup3r-s3cret";
        await using var server = new LoopbackServer((ctx, _) => LoopbackServer.Respond(ctx, 500, "boom"));
        var headers = new JsonObject { ["Authorization"] = secret };
        var withCredentials = server.BaseUrl.Replace("http://", "http://user:pa55word@", StringComparison.Ordinal) + "x";

        var serverError = await _agent.RunAsync(TaskOf(new JsonObject { ["url"] = withCredentials, ["headers"] = headers.DeepClone() }), default);
        var refused = await _agent.RunAsync(TaskOf(new JsonObject { ["url"] = $"http://127.0.0.1:{LoopbackServer.FreePort()}/", ["headers"] = headers.DeepClone() }), default);
        var badHeader = await _agent.RunAsync(TaskOf(new JsonObject { ["url"] = server.BaseUrl, ["headers"] = new JsonObject { ["Authorization"] = secret + "\r\nX-Evil: 1" } }), default);

        serverError.Error.Should().Be($"GET {server.BaseUrl}x returned 500 Internal Server Error");
        new[] { serverError, refused, badHeader }.Should().OnlyContain(r => !r.Success && !r.Error!.Contains("s3cret") && !r.Error.Contains("pa55word"));
    }

    [Fact]
    public async Task Connection_refused_fails_with_a_clear_message()
    {
        var url = $"http://127.0.0.1:{LoopbackServer.FreePort()}/";

        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["url"] = url, ["method"] = "POST", ["body"] = "x" }), default);

        result.Success.Should().BeFalse();
        result.Error.Should().StartWith($"POST {url} failed: ").And.Contain("refused");
        result.Output.Should().BeNull();
    }

    [Fact]
    public async Task Timeout_fails_with_a_clear_message()
    {
        LoopbackServer? self = null;
        await using var server = self = new LoopbackServer(async (ctx, _) =>
        {
            await self!.Stopping; // never answers while the test runs
        });

        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["url"] = server.BaseUrl + "slow", ["timeoutMs"] = 200 }), default);

        result.Success.Should().BeFalse();
        result.Error.Should().Be($"GET {server.BaseUrl}slow timed out after 200 ms");
    }

    [Fact]
    public async Task Cancellation_throws_OperationCanceledException_on_the_callers_token()
    {
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        LoopbackServer? self = null;
        await using var server = self = new LoopbackServer(async (ctx, _) =>
        {
            received.TrySetResult();
            await self!.Stopping;
        });
        using var cts = new CancellationTokenSource();

        var run = _agent.RunAsync(TaskOf(new JsonObject { ["url"] = server.BaseUrl }), cts.Token).AsTask();
        await received.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await cts.CancelAsync();

        var thrown = await run.Awaiting(t => t).Should().ThrowAsync<OperationCanceledException>();
        thrown.Which.CancellationToken.Should().Be(cts.Token);
    }

    [Fact]
    public async Task Response_headers_from_content_and_message_are_merged_with_lower_case_names()
    {
        await using var server = new LoopbackServer(async (ctx, _) =>
        {
            ctx.Response.Headers.Add("X-Multi", "a");
            ctx.Response.Headers.Add("X-Multi", "b");
            await LoopbackServer.Respond(ctx, 200, "[1,2]", "application/json");
        });

        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["url"] = server.BaseUrl }), default);

        var headers = result.Output!["headers"]!.AsObject();
        headers.Select(h => h.Key).Should().OnlyContain(k => !k.Any(char.IsAsciiLetterUpper));
        headers["x-multi"]!.GetValue<string>().Should().Be("a, b");
        headers["content-length"]!.GetValue<string>().Should().Be("5");
        result.Output["json"]!.AsArray().Select(n => n!.GetValue<int>()).Should().Equal(1, 2);
    }

    [Theory]
    [InlineData("null", "http: input must be a JSON object with a 'url'.")]
    [InlineData("{}", "http: 'url' is required.")]
    [InlineData("""{"url":5}""", "http: 'url' must be a string.")]
    [InlineData("""{"url":"/relative/path"}""", "http: 'url' must be an absolute http:// or https:// URL.")]
    [InlineData("""{"url":"ftp://127.0.0.1/file"}""", "http: 'url' must be an absolute http:// or https:// URL.")]
    [InlineData("""{"url":"http://127.0.0.1/","method":"GE T"}""", "http: 'method' must be an HTTP method")]
    [InlineData("""{"url":"http://127.0.0.1/","headers":["a"]}""", "http: 'headers' must be an object of string values.")]
    [InlineData("""{"url":"http://127.0.0.1/","headers":{"X-N":1}}""", "http: header 'X-N' must have a string value.")]
    [InlineData("""{"url":"http://127.0.0.1/","headers":{"Bad Name":"v"}}""", "http: 'headers' has an invalid header name.")]
    [InlineData("""{"url":"http://127.0.0.1/","timeoutMs":0}""", "http: 'timeoutMs' must be between 1 and")]
    [InlineData("""{"url":"http://127.0.0.1/","timeoutMs":"5"}""", "http: 'timeoutMs' must be a number of milliseconds.")]
    public async Task Bad_input_fails_with_a_clear_message(string inputJson, string expectedErrorStart)
    {
        var result = await _agent.RunAsync(TaskOf(inputJson), default);

        result.Success.Should().BeFalse();
        result.Error.Should().StartWith(expectedErrorStart);
        result.Output.Should().BeNull();
    }
}
