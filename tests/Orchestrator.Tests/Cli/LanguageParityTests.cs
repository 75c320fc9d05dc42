using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Cli;

public sealed class LanguageParityTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Hello_in_csharp_and_javascript_give_the_same_journal_and_report()
    {
        var store = Path.Combine(_dir.Path, "store");
        var csx = await RunAsync(Path.Combine(RepoPaths.Scripts, "hello.csx"), store);
        var js = await RunAsync(Path.Combine(RepoPaths.Scripts, "hello.js"), store);

        // The template prints only what does not depend on the run's identity or timing.
        var template = _dir.Write("parity.sbn", """
            {{ for s in steps }}{{ s.id }} {{ s.kind }} {{ s.agent }} {{ s.status }} {{ s.output | to_json }}
            {{ end }}status={{ run.status }} result={{ run.result | to_json }} data={{ data | to_json }}
            """);
        var csxReport = await CliRunner.RunAsync("report", csx, "--store", store, "--template", template);
        var jsReport = await CliRunner.RunAsync("report", js, "--store", store, "--template", template);

        csxReport.ExitCode.Should().Be(0, csxReport.ToString());
        jsReport.ExitCode.Should().Be(0, jsReport.ToString());
        Normalise(jsReport.Stdout).Should().Be(Normalise(csxReport.Stdout));
        csxReport.Stdout.Should().Contain("facts/kernel/shell agent shell succeeded");
    }

    private static async Task<string> RunAsync(string script, string store)
    {
        var result = await CliRunner.RunAsync("run", script, "--store", store, "--json");
        result.ExitCode.Should().Be(0, result.ToString());
        return JsonNode.Parse(result.LastLine)!["runId"]!.GetValue<string>();
    }

    // Parallel branches start in either order, and shell timings differ: compare lines as a set, without durations.
    private static string Normalise(string report) => string.Join('\n', report
        .Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(l => System.Text.RegularExpressions.Regex.Replace(l.Trim(), "\"durationMs\":\\s*[0-9.]+", "\"durationMs\":0"))
        .Order(StringComparer.Ordinal));
}
