using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Cli;

/// <summary>A run's outcome is the script's: a report that cannot be rendered is a warning every view of the run agrees on.</summary>
public sealed class ReportOutcomeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string Store => Path.Combine(_dir.Path, "store");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_run_whose_template_fails_to_render_succeeds_with_one_warning_and_run_runs_show_and_resume_agree()
    {
        // Parses (so the handoff accepts it) but fails while rendering: the loop runs past the render limit.
        var template = _dir.Write("loop.md.sbn", "# {{ title }}\n{{ for i in 1..200000 }}{{ i }}{{ end }}\n");
        var script = _dir.Write("flow.csx", $$"""
            await Step("work", () => 42);
            await Handoff("done", new { answer = 42 }, "{{template.Replace("\\", "/")}}");
            return 42;
            """);

        var run = await CliRunner.RunAsync("run", script, "--store", Store, "--json");

        run.ExitCode.Should().Be(0, run.ToString());
        var json = JsonNode.Parse(run.LastLine)!;
        var id = json["runId"]!.GetValue<string>();
        json["status"]!.GetValue<string>().Should().Be("succeeded");
        json["reportError"]!.GetValue<string>().Should().StartWith(template + "(2,").And.Contain("LoopLimit");
        var warnings = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        warnings.Should().ContainSingle().Which.Should().StartWith($"orchestrator: warning: report not written: {template}(2,");
        run.ToString().Should().NotContain("Unhandled exception");

        var runs = await CliRunner.RunAsync("runs", "--store", Store);
        runs.Stdout.Should().MatchRegex($@"{id}\s+succeeded\s");

        var shown = await CliRunner.RunAsync("runs", "show", id, "--store", Store);
        shown.Stdout.Should().Contain("status   succeeded").And.Contain($"report   not written: {template}(2,");

        var resume = await CliRunner.RunAsync("resume", id, "--store", Store);
        resume.ExitCode.Should().Be(2, resume.ToString());
        resume.Stderr.Should().Contain($"run {id} already succeeded");
    }
}
