using System.Text.Json.Nodes;
using Orchestrator.Cli.Progress;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;
using Orchestrator.Tests.Support;
using Spectre.Console.Testing;

namespace Orchestrator.Tests.Progress;

public sealed class ProgressTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task At_a_terminal_the_live_view_shows_steps_with_their_times_and_parallel_branches_side_by_side()
    {
        var terminal = new TestConsole().Width(100).Interactive().EmitAnsiSequences();
        var script = _dir.Write("live.csx", """
            await Agent("echo").RunAsync(new { hello = 1 }, name: "greet");
            await Parallel("checks", Merge.CollectAll,
                Branch("lint", () => Agent("echo").RunAsync(new { lint = 1 })),
                Branch("unit", () => Agent("fail").RunAsync(new { unit = 1 })));
            """);

        var progress = new LiveRunProgress(terminal, TimeProvider.System);
        await using (progress)
        {
            await new EngineHarness(new EchoAgent(), new FailAgent()).RunCsxAsync(script, options: new RunOptions { OnEvent = progress.Observe });
        }

        var screen = terminal.Output;
        screen.Should().Contain("✓").And.Contain("greet").And.Contain("ms");
        screen.Should().Contain("✗").And.Contain("unit");

        // The last frame: the two branches of the parallel step on one line, each in its own box.
        var lastFrame = screen[screen.LastIndexOf("steps", StringComparison.Ordinal)..];
        lastFrame.Split('\n').Should().Contain(l => l.Contains("lint", StringComparison.Ordinal) && l.Contains("unit", StringComparison.Ordinal));
    }

    [Fact]
    public async Task When_stdout_is_not_a_terminal_each_finished_step_is_one_plain_line()
    {
        var result = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, "hello.csx"), "--store", Path.Combine(_dir.Path, "store"));

        result.ExitCode.Should().Be(0, result.ToString());
        var lines = result.Stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        lines.Should().Contain(l => l.StartsWith("✓ facts/kernel/shell (shell) ", StringComparison.Ordinal) && l.EndsWith(" ms", StringComparison.Ordinal));
        lines.IndexOf(lines.First(l => l.StartsWith("✓ facts/kernel/shell", StringComparison.Ordinal)))
            .Should().BeLessThan(lines.IndexOf(lines.First(l => l.StartsWith("✓ facts ", StringComparison.Ordinal))), "a step ends after the steps inside it");
        result.Stdout.Should().NotContain("\u001b[", "plain output has no terminal escapes");
    }

    [Fact]
    public async Task Quiet_prints_only_the_result_and_json_only_the_outcome_line()
    {
        var store = Path.Combine(_dir.Path, "store");
        var quiet = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, "hello.csx"), "--store", store, "--quiet");
        var json = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, "hello.csx"), "--store", store, "--json");

        quiet.ExitCode.Should().Be(0, quiet.ToString());
        JsonNode.Parse(quiet.Stdout)!.ToJsonString().Should().Be("""{"greeting":"hello, world","kernel":"Linux","words":3}""");
        json.ExitCode.Should().Be(0, json.ToString());
        json.Stdout.Trim().Split('\n').Should().ContainSingle();
        JsonNode.Parse(json.LastLine)!["status"]!.GetValue<string>().Should().Be("succeeded");
    }
}
