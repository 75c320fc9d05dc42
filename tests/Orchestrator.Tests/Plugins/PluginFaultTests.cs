using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Plugins;

/// <summary>A plugin's faults are named at the step that meets them, with their cause.</summary>
public sealed class PluginFaultTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_step_asking_for_an_agent_whose_plugin_did_not_load_names_the_plugin_and_why()
    {
        using var plugins = new PluginFolder();
        plugins.AddFixture(FixturePlugins.Throwing);
        var script = _dir.Write("uses.csx", "await Agent(\"throwing\").RunAsync();");

        var result = await CliRunner.RunAsync("run", script, "--store", Path.Combine(_dir.Path, "store"), "--plugins", plugins.Path, "--json", "--no-host");

        result.ExitCode.Should().Be(1, result.ToString());
        JsonNode.Parse(result.LastLine)!["error"]!.GetValue<string>().Should().Contain("unknown agent 'throwing'")
            .And.Contain("plugins that did not load: Fixture.Throwing.dll: ").And.Contain("fixture constructor failure");
    }

    [Fact]
    public async Task An_agent_that_returns_null_or_fails_without_a_reason_is_named_as_such()
    {
        var harness = new EngineHarness(new NullAgent(), new SilentFailAgent());
        var script = _dir.Write("faults.csx", """
            var reasons = new List<string>();
            foreach (var kind in new[] { "null", "silent" })
            {
                try { await Agent(kind).RunAsync(); } catch (StepFailedException ex) { reasons.Add(ex.Reason); }
            }
            return string.Join(" | ", reasons);
            """);

        var (outcome, steps) = await harness.RunCsxAsync(script);

        outcome.Run.Result!.GetValue<string>().Should().Be("agent 'null' returned no result (null) | agent 'silent' failed without saying why");
        steps.Should().OnlyContain(s => s.Status == RunStatus.Failed);
    }

    private sealed class NullAgent : IAgent
    {
        public string Kind => "null";

        public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) => ValueTask.FromResult<AgentResult>(null!);
    }

    private sealed class SilentFailAgent : IAgent
    {
        public string Kind => "silent";

        public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) => ValueTask.FromResult(AgentResult.Fail(null!));
    }
}
