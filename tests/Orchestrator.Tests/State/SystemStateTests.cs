using System.Text.Json.Nodes;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Journal;
using Orchestrator.Scripting;
using Orchestrator.Scripting.JavaScript;
using Orchestrator.Tests.Strategies;
using Orchestrator.Tests.Support;
using Serilog.Core;
using Xunit;

namespace Orchestrator.Tests.State;

/// <summary>The system state: SystemState()/systemState() in a run, and orchestrator status from the store.</summary>
public sealed class SystemStateTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("csx", """
        await Phase("summarize", new[] { 1, 2 }, new[] { Strategy("quick", agent: "summarize") });
        try { await Agent("flaky").RunAsync(new { n = 1 }); } catch (Exception) { }
        return await SystemState();
        """)]
    [InlineData("js", """
        await phase("summarize", [1, 2], { strategies: [{ name: "quick", agent: "summarize" }] });
        try { await agent("flaky").run({ n: 1 }); } catch (e) { }
        return await systemState();
        """)]
    public async Task SystemState_shows_agents_circuits_limits_reviews_and_what_learning_prefers(string language, string source)
    {
        var harness = new EngineHarness(_time, null, [
            new ClockAgent("quick", _time, TimeSpan.FromMilliseconds(5), "summarize") { MaxConcurrency = 2 },
            new ClockAgent("flaky", _time, TimeSpan.FromMilliseconds(5)) { Fails = true },
        ], []);
        var program = WorkflowScripts.Compile(_dir.Write("state." + language, source), JavaScriptOptions.Default, Logger.None);
        var (outcome, steps) = await harness.RunAsync(program);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        steps.Should().ContainSingle(s => s.Kind == "state" && s.Id == "system-state", "the state is a journaled step, so a resumed run sees what the first attempt saw");
        var state = outcome.Run.Result!.AsObject();
        var agents = state["agents"]!.AsArray().ToDictionary(a => a!["kind"]!.GetValue<string>(), a => a!.AsObject());
        agents["quick"]["capabilities"]!.AsArray().Select(c => c!.GetValue<string>()).Should().Equal("summarize");
        agents["quick"]["maxConcurrency"]!.GetValue<int>().Should().Be(2);
        agents["quick"]["inFlight"]!.GetValue<int>().Should().Be(0, "no call is running while the state is read");
        agents["flaky"]["circuits"]!.AsArray().Should().ContainSingle().Which!["failures"]!.GetValue<long>().Should().BeGreaterThan(0);
        state["reviews"]!["recommendations"]!.AsArray().Should().BeEmpty();
        state["reviews"]!["approvals"]!.AsArray().Should().BeEmpty();
        var phase = state["learning"]!["phases"]!.AsArray().Should().ContainSingle().Subject!;
        (phase["phase"]!.GetValue<string>(), phase["preferred"]!.GetValue<string>()).Should().Be(("summarize", "quick"));
        state["learning"]!["weights"]!["reliability"]!.GetValue<double>().Should().Be(0.7);
        state.Select(p => p.Key).Should().Equal("agents", "mcpServers", "connectors", "reviews", "learning");
    }

    [Fact]
    public async Task Status_shows_the_store_s_state_as_json_and_as_tables_and_a_missing_store_is_one_line_that_creates_nothing()
    {
        var store = Path.Combine(_dir.Path, "store");
        var script = _dir.Write("phase.js", """
            return await phase("build", [{ script: "echo a" }], { strategies: [{ name: "local", agent: "shell" }] });
            """);
        var run = await CliRunner.RunAsync("run", script, "--store", store, "--no-host");
        run.ExitCode.Should().Be(0, run.ToString());

        var json = await CliRunner.RunAsync("status", "--json", "--store", store, "--no-host");
        json.ExitCode.Should().Be(0, json.ToString());
        var state = JsonNode.Parse(json.Stdout)!.AsObject();
        state["agents"]!.AsArray().Select(a => a!["kind"]!.GetValue<string>()).Should().Contain("shell");
        state["agents"]!.AsArray().Should().OnlyContain(a => a!["circuits"] is JsonArray && a["capabilities"] is JsonArray && a["inFlight"] != null);
        state["learning"]!["phases"]!.AsArray().Should().ContainSingle().Which!["preferred"]!.GetValue<string>().Should().Be("local");
        state["reviews"]!.AsObject().Select(p => p.Key).Should().Equal("recommendations", "approvals");

        var table = await CliRunner.RunAsync("status", "--store", store, "--no-host");
        table.ExitCode.Should().Be(0, table.ToString());
        table.Stdout.Should().MatchRegex(@"(?m)^shell\S*\s+shell\s").And.Contain("open reviews: 0 recommendation(s)").And.MatchRegex(@"(?m)^build\s+local\s");

        var missing = Path.Combine(_dir.Path, "nothing-here");
        var refused = await CliRunner.RunAsync("status", "--store", missing);
        refused.ExitCode.Should().Be(2);
        refused.Stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().Contain("no store at");
        Directory.Exists(missing).Should().BeFalse("a command that only reads never creates a store");
    }
}
