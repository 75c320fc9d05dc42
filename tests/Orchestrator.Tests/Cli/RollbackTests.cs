using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Cli;

/// <summary>The standard rollback strategy: compensations back to the last checkpoint, newest first, then one more try.</summary>
public sealed class RollbackTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Store => Path.Combine(_dir.Path, "store");

    // "ship" succeeds only once the compensations have written their log: a rollback is what rescues it.
    private string Script(string recovery) => $$"""
        var log = Path.Combine("{{_dir.Path}}", "undo.log");
        await Agent("shell").RunAsync(new { command = "true" }, name: "prepare", compensate: () => Agent("shell").RunAsync(new { script = $"echo undo-prepare >> '{log}'" }));
        await Checkpoint("paid");
        await Agent("shell").RunAsync(new { command = "true" }, name: "reserve", compensate: () => Agent("shell").RunAsync(new { script = $"echo undo-reserve >> '{log}'" }));
        await Agent("shell").RunAsync(new { command = "true" }, name: "label", compensate: () => Agent("shell").RunAsync(new { script = $"echo undo-label >> '{log}'" }));
        await Agent("shell").RunAsync(new { script = $"test -f '{log}'" }, name: "ship"{{recovery}});
        return File.ReadAllLines(log);
        """;

    [Fact]
    public async Task Without_rollback_the_failing_step_fails_the_run()
    {
        var result = await CliRunner.RunAsync("run", _dir.Write("plain.csx", Script("")), "--store", Store);

        result.ExitCode.Should().Be(1, result.ToString());
        File.Exists(Path.Combine(_dir.Path, "undo.log")).Should().BeFalse();
    }

    [Fact]
    public async Task Rollback_undoes_the_steps_since_the_checkpoint_in_reverse_order_and_rescues_the_step()
    {
        var result = await CliRunner.RunAsync("run", _dir.Write("saga.csx", Script(", recovery: Recovery(\"rollback\")")), "--store", Store, "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        var outcome = JsonNode.Parse(result.LastLine)!;
        outcome["result"]!.AsArray().Select(n => n!.GetValue<string>()).Should().Equal(["undo-label", "undo-reserve"], "compensations run newest first, and nothing before the checkpoint");

        var shown = await CliRunner.RunAsync("runs", "show", outcome["runId"]!.GetValue<string>(), "--store", Store);
        shown.Stdout.Should().MatchRegex(@"reserve\s+agent\s+shell\s+compensated").And.MatchRegex(@"label\s+agent\s+shell\s+compensated");
        shown.Stdout.Should().MatchRegex(@"prepare\s+agent\s+shell\s+succeeded");
        shown.Stdout.Should().MatchRegex(@"ship/rollback/compensate\s+rollback\s+succeeded");
        shown.Stdout.Should().MatchRegex(@"ship/rollback/compensate/undo\s+compensation\s+shell\s+succeeded");
        shown.Stdout.Should().MatchRegex(@"ship/rollback/shell\s+attempt\s+shell\s+succeeded");
        var report = File.ReadAllText(outcome["report"]!.GetValue<string>());
        report.Should().Contain("compensated").And.Contain("ship/rollback/compensate/undo#2");
    }
}
