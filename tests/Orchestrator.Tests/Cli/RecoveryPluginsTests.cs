using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Cli;

/// <summary>The standard recovery strategies, loaded as plugins, rescue runs that fail without them.</summary>
public sealed class RecoveryPluginsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // Fails the first time (it leaves a marker), succeeds every time after.
    private string FlakyCommand(string marker) =>
        $"if [ -f '{Path.Combine(_dir.Path, marker)}' ]; then echo recovered; else touch '{Path.Combine(_dir.Path, marker)}'; echo first try fails >&2; exit 1; fi";

    [Fact]
    public async Task Without_recovery_a_flaky_step_fails_the_run()
    {
        var script = _dir.Write("plain.js", $$"""
            return await agent("shell").run({ script: "{{FlakyCommand("plain.marker")}}" });
            """);

        var result = await RunAsync(script);

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain("first try fails");
    }

    [Fact]
    public async Task Retry_rescues_a_flaky_step_in_javascript()
    {
        var script = _dir.Write("retry.js", $$"""
            const out = await agent("shell").run({ script: "{{FlakyCommand("js.marker")}}" },
              { name: "flaky", recovery: [{ strategy: "retry", maxAttempts: 2, delayMs: 1, jitter: false }] });
            return out.stdout.trim();
            """);

        var result = await RunAsync(script);

        result.ExitCode.Should().Be(0, result.ToString());
        JsonNode.Parse(result.LastLine)!["result"]!.GetValue<string>().Should().Be("recovered");
    }

    [Fact]
    public async Task Retry_set_for_the_whole_workflow_rescues_a_flaky_step_in_csharp()
    {
        var script = _dir.Write("retry.csx", $$"""
            SetRecovery(Recovery("retry", new { maxAttempts = 2, delayMs = 1, jitter = false }));
            var output = await Agent("shell").RunAsync(new { script = "{{FlakyCommand("csx.marker")}}" });
            return output!["stdout"]!.GetValue<string>().Trim();
            """);

        var result = await RunAsync(script);

        result.ExitCode.Should().Be(0, result.ToString());
        JsonNode.Parse(result.LastLine)!["result"]!.GetValue<string>().Should().Be("recovered");
        var steps = await CliRunner.RunAsync("runs", "show", JsonNode.Parse(result.LastLine)!["runId"]!.GetValue<string>(), "--store", Store);
        steps.Stdout.Should().MatchRegex(@"shell/retry\s+recovery\s+retry\s+succeeded").And.MatchRegex(@"shell/retry/shell\s+attempt\s+shell\s+succeeded");
    }

    [Fact]
    public async Task Fallback_runs_the_alternative_agent_when_the_first_one_fails()
    {
        var script = _dir.Write("fallback.csx", """
            var mirror = await Agent("http").RunAsync(
                new { url = "http://127.0.0.1:1/unreachable" },
                recovery: Recovery("fallback", new { agent = "shell", input = new { command = "echo", args = new[] { "from the fallback" } } }));
            return mirror!["stdout"]!.GetValue<string>().Trim();
            """);

        var result = await RunAsync(script);

        result.ExitCode.Should().Be(0, result.ToString());
        JsonNode.Parse(result.LastLine)!["result"]!.GetValue<string>().Should().Be("from the fallback");
    }

    [Fact]
    public async Task When_retry_and_fallback_both_fail_the_error_lists_both()
    {
        var script = _dir.Write("hopeless.js", """
            setRecovery(["retry", { strategy: "fallback", agent: "shell", input: { command: "false" } }]);
            await agent("shell").run({ command: "false" }, { recovery: [{ strategy: "retry", maxAttempts: 1, delayMs: 1 }, { strategy: "fallback", agent: "shell", input: { command: "false" } }] });
            """);

        var result = await RunAsync(script);

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain("recovery failed: retry: 1 attempt failed").And.Contain("fallback: fallback to 'shell' failed");
    }

    private string Store => Path.Combine(_dir.Path, "store");

    private Task<CliResult> RunAsync(string script) => CliRunner.RunAsync("run", script, "--store", Store, "--json");
}
