using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Consensus;

/// <summary>scripts/consensus.csx and scripts/consensus.js run end to end through the real command line, on real shell measures.</summary>
public sealed class ConsensusExampleScriptsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("consensus.csx")]
    [InlineData("consensus.js")]
    public async Task Three_reviewers_agree_by_majority_on_the_file_to_review_first_and_each_measures_it(string script)
    {
        // The longest and the largest file is big.txt, the one with most TODOs is todo.txt: two reviewers against one.
        var big = _dir.Write("folder/big.txt", string.Concat(Enumerable.Range(1, 50).Select(i => $"line {i}\n")));
        _dir.Write("folder/todo.txt", "TODO: one\nFIXME: two\nTODO: three\n");
        _dir.Write("folder/small.txt", "x\n");
        var store = Path.Combine(_dir.Path, "store");

        var result = await CliRunner.RunAsync(
            "run", Path.Combine(RepoPaths.Scripts, script), "--store", store, "--json",
            "--input", new JsonObject { ["dir"] = Path.Combine(_dir.Path, "folder") }.ToJsonString());

        result.ExitCode.Should().Be(0, result.ToString());
        var outcome = JsonNode.Parse(result.LastLine)!;
        outcome["result"]!.ToJsonString().Should().Be($$"""{"file":"big.txt","lines":50,"bytes":{{new FileInfo(big).Length}},"todos":0}""");
        File.ReadAllText(outcome["report"]!.GetValue<string>()).Should()
            .Contain("review/propose/todos/shell").And.Contain("review/vote/bytes/shell").And.Contain("review/tally").And.Contain("review/integrate");
    }
}
