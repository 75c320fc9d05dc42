using System.Text.Json.Nodes;
using Orchestrator.Core.Secrets;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Orchestrator.Tests.Connectors;

public sealed class SecretRedactionTests
{
    [Fact]
    public void Secrets_are_redacted_in_their_raw_json_escaped_and_html_encoded_forms()
    {
        var secrets = new SecretRegistry();
        const string secret = "p+ss<w>rd&é";
        secrets.Add(secret);
        var json = new JsonObject { ["key"] = secret }.ToJsonString();

        secrets.Redact($"raw {secret}").Should().Be("raw ***");
        json.Should().NotContain(secret, "the JSON writer escapes it");
        secrets.Redact(json).Should().Be("""{"key":"***"}""");
        secrets.Redact(System.Net.WebUtility.HtmlEncode($"<td>{secret}</td>")).Should().Be("&lt;td&gt;***&lt;/td&gt;");
    }

    [Fact]
    public void An_environment_value_that_is_short_or_a_number_is_not_a_secret_unless_declared()
    {
        var secrets = new SecretRegistry();
        secrets.Add("8080", declared: false);
        secrets.Add("dev", declared: false);
        secrets.Add("3.25e4", declared: false);
        secrets.IsEmpty.Should().BeTrue();

        secrets.Add("1234", declared: true);
        secrets.Add("longer-env-value", declared: false);
        secrets.Redact("pin 1234, key longer-env-value").Should().Be("pin ***, key ***");
    }

    [Fact]
    public void Json_redaction_masks_inside_strings_only_and_keeps_the_shape()
    {
        var secrets = new SecretRegistry();
        secrets.Add("8080");
        secrets.Add("n12345");
        secrets.Add("s3cr3t\"quoted");
        var json = new JsonObject
        {
            ["port"] = 8080,
            ["url"] = "http://h:8080/",
            ["escaped"] = "line\n12345", // holds a newline and 12345, not the secret n12345
            ["quoted"] = "say s3cr3t\"quoted",
            ["s3cr3t\"quoted"] = true,
            ["list"] = new JsonArray(8080, "8080"),
        }.ToJsonString();

        var redacted = secrets.RedactJson(json);

        JsonNode.DeepEquals(JsonNode.Parse(redacted), new JsonObject
        {
            ["port"] = 8080,
            ["url"] = "http://h:***/",
            ["escaped"] = "line\n12345",
            ["quoted"] = "say ***",
            ["***"] = true,
            ["list"] = new JsonArray(8080, "***"),
        }).Should().BeTrue(redacted);
        secrets.Redact(json).Should().Contain("\"port\":***", "plain text redaction is what broke data");
        secrets.RedactJson("""{"a":1}""").Should().Be("""{"a":1}""");
    }

    [Fact]
    public void A_secret_that_contains_another_is_replaced_whole()
    {
        var secrets = new SecretRegistry();
        secrets.Add("abcd");
        secrets.Add("xxabcdxx");

        secrets.Redact("1 xxabcdxx 2 abcd").Should().Be("1 *** 2 ***");
    }

    [Fact]
    public void The_redacting_sink_masks_the_template_the_properties_nested_too_and_the_exception()
    {
        var secrets = new SecretRegistry();
        secrets.Add("hunter2-token");
        var seen = new List<LogEvent>();
        using (var log = new LoggerConfiguration().WriteTo.Sink(new RedactingSink(new Collect(seen), secrets)).CreateLogger())
        {
            log.Error(
                new InvalidOperationException("server said hunter2-token is wrong"),
                "Call with hunter2-token failed: {Detail} {@Request}",
                "detail hunter2-token",
                new { Headers = new[] { "Bearer hunter2-token" } });
        }

        var e = seen.Should().ContainSingle().Subject;
        var text = e.RenderMessage() + e.Exception;
        text.Should().NotContain("hunter2-token");
        text.Should().Contain("Call with *** failed: \"detail ***\"").And.Contain("Bearer ***").And.Contain("server said *** is wrong").And.Contain(nameof(InvalidOperationException));
    }

    private sealed class Collect(List<LogEvent> events) : ILogEventSink
    {
        public void Emit(LogEvent logEvent) => events.Add(logEvent);
    }
}
