using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.MasterWorker;

/// <summary>scripts/fan-out.csx and scripts/fan-out.js run end to end through the real command line, on real processes.</summary>
public sealed class FanOutExampleTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("fan-out.csx")]
    [InlineData("fan-out.js")]
    public async Task Fan_out_counts_every_matching_file_with_wc_and_the_master_sums_the_counts(string script)
    {
        _dir.Write("data/a.txt", "one\ntwo\n");
        _dir.Write("data/b.txt", "three\n");
        _dir.Write("data/c d.txt", "x\ny\nz\n");
        _dir.Write("data/d.txt", "");
        _dir.Write("data/skipped.md", "not a text file\n");
        var input = new JsonObject { ["dir"] = Path.Combine(_dir.Path, "data"), ["pattern"] = "*.txt" };

        var result = await CliRunner.RunAsync(
            "run", Path.Combine(RepoPaths.Scripts, script), "--store", Path.Combine(_dir.Path, "store"), "--json", "--input", input.ToJsonString());

        result.ExitCode.Should().Be(0, result.ToString());
        var outcome = JsonNode.Parse(result.LastLine)!;
        outcome["result"]!.ToJsonString().Should().Be(
            """{"files":4,"lines":6,"chars":20,"perFile":[""" +
            """{"file":"a.txt","lines":2,"chars":8},{"file":"b.txt","lines":1,"chars":6},""" +
            """{"file":"c d.txt","lines":3,"chars":6},{"file":"d.txt","lines":0,"chars":0}]}""");
        var report = File.ReadAllText(outcome["report"]!.GetValue<string>());
        report.Should().Contain("count/split/list").And.Contain("count/subtask-3").And.Contain("count/integrate");
    }
}
