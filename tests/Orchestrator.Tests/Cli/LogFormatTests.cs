using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Cli;

/// <summary><c>--log-format json</c>: the store's log file is compact JSON, one event a line.</summary>
public sealed class LogFormatTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Json_logs_are_one_compact_json_event_a_line_in_the_stores_log_file()
    {
        var script = _dir.Write("flow.csx", "Log(\"hello from the script\");\nawait Step(\"one\", () => 1);\nreturn 1;\n");
        var store = Path.Combine(_dir.Path, "store");

        var run = await CliRunner.RunAsync("run", script, "--store", store, "--log-format", "json");

        run.ExitCode.Should().Be(0, run.ToString());
        var file = Directory.GetFiles(Path.Combine(store, "logs")).Should().ContainSingle().Subject;
        file.Should().EndWith(".json");
        string text;
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var reader = new StreamReader(stream))
        {
            text = await reader.ReadToEndAsync();
        }

        var events = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonNode.Parse(line)!.AsObject()).ToList();
        events.Should().NotBeEmpty().And.OnlyContain(e => e.ContainsKey("@t") && e.ContainsKey("@mt"));
        events.Should().Contain(e => e.ToJsonString().Contains("hello from the script"));
    }

    [Fact]
    public async Task An_unknown_log_format_is_bad_input()
    {
        var run = await CliRunner.RunAsync("runs", "--log-format", "xml", "--store", _dir.Path);

        run.ExitCode.Should().Be(2);
        run.Stderr.Trim().Should().Contain("xml").And.NotContain("\n");
    }
}
