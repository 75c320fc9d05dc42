using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Durability;

/// <summary><c>runs fork</c> (replay a run up to a step, live from there) and <c>runs diff</c>, through the real CLI and the standard agents.</summary>
public sealed class RunForkTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Store => Path.Combine(_dir.Path, "store");

    [Fact]
    public async Task Forking_the_hello_run_at_each_of_its_steps_gives_the_same_result()
    {
        var original = await RunAsync("run", Path.Combine(RepoPaths.Root, "scripts", "hello.csx"), "--json", "--no-host");
        var steps = (await StepsAsync(original["runId"]!.GetValue<string>())).Where(s => !s.StartsWith('@')).ToList();
        steps.Should().Contain(["shell", "facts", "facts/kernel/shell", "summary"]);

        foreach (var step in steps)
        {
            var fork = await RunAsync("runs", "fork", original["runId"]!.GetValue<string>(), "--at", step, "--json");

            fork["status"]!.GetValue<string>().Should().Be("succeeded", step);
            fork["result"]!.ToJsonString().Should().Be(original["result"]!.ToJsonString(), $"a fork at '{step}' replays what came before and runs the rest alike");
        }
    }

    [Fact]
    public async Task A_fork_with_another_input_changes_only_the_steps_after_the_fork_point_and_diff_lists_exactly_those()
    {
        var script = _dir.Write("twice.csx", """
            var x = Input!["x"]!.GetValue<int>();
            var a = await Step("a", () => x);
            var b = await Step("b", () => x * 2);
            var c = await Step("c", () => x * 3);
            return new { a, b, c };
            """);
        var original = await RunAsync("run", script, "--input", """{"x":1}""", "--json", "--no-host");
        var id = original["runId"]!.GetValue<string>();

        var fork = await RunAsync("runs", "fork", id, "--at", "b", "--input", """{"x":5}""", "--json");

        fork["result"]!.ToJsonString().Should().Be("""{"a":1,"b":10,"c":15}""", "'a' came before the fork point and was replayed");
        var diff = await CliRunner.RunAsync("runs", "diff", id, fork["runId"]!.GetValue<string>(), "--store", Store, "--json");
        diff.ExitCode.Should().Be(0, diff.ToString());
        JsonNode.Parse(diff.LastLine)!.AsArray().Select(d => d!["step"]!.GetValue<string>()).Should().Equal("b", "c");
        var origin = (await FoldAsync(fork["runId"]!.GetValue<string>())).Single(s => s.Id == "@fork");
        origin.Output!["run"]!.GetValue<string>().Should().Be(id, "the fork records where it came from");
        origin.Output["at"]!.GetValue<string>().Should().Be("b");
    }

    [Fact]
    public async Task A_fork_of_a_failed_run_with_a_fixed_script_succeeds_without_running_the_steps_before_the_fork_point_again()
    {
        var counter = Path.Combine(_dir.Path, "expensive-calls");
        const string Template = """
            await Agent("shell").RunAsync(new { script = "echo call >> 'COUNTER'" }, name: "expensive");
            var last = await Agent("shell").RunAsync(new { command = "COMMAND" }, name: "last");
            return last!["exitCode"];
            """;
        var broken = _dir.Write("release.csx", Template.Replace("COUNTER", counter, StringComparison.Ordinal).Replace("COMMAND", "false", StringComparison.Ordinal));
        var fixedScript = _dir.Write("release-fixed.csx", Template.Replace("COUNTER", counter, StringComparison.Ordinal).Replace("COMMAND", "true", StringComparison.Ordinal));
        var failed = await CliRunner.RunAsync("run", broken, "--store", Store, "--json", "--no-host");
        failed.ExitCode.Should().Be(1, failed.ToString());
        var id = JsonNode.Parse(failed.LastLine)!["runId"]!.GetValue<string>();

        var fork = await RunAsync("runs", "fork", id, "--at", "last", "--script", fixedScript, "--json");

        fork["status"]!.GetValue<string>().Should().Be("succeeded");
        File.ReadAllLines(counter).Should().HaveCount(1, "the expensive step ran once, in the failed run; the fork replayed it");
    }

    [Fact]
    public async Task Forking_at_a_step_the_run_does_not_have_is_one_line_naming_its_steps()
    {
        var original = await RunAsync("run", Path.Combine(RepoPaths.Root, "scripts", "hello.csx"), "--json", "--no-host");

        var fork = await CliRunner.RunAsync("runs", "fork", original["runId"]!.GetValue<string>(), "--at", "nope", "--store", Store);

        fork.ExitCode.Should().Be(2, fork.ToString());
        fork.Stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().Contain("has no step 'nope'").And.Contain("facts");
    }

    private async Task<JsonNode> RunAsync(params string[] args)
    {
        var result = await CliRunner.RunAsync([.. args, "--store", Store]);
        result.ExitCode.Should().BeOneOf([0], result.ToString());
        return JsonNode.Parse(result.LastLine)!;
    }

    private async Task<IReadOnlyList<string>> StepsAsync(string runId) => [.. (await FoldAsync(runId)).Select(s => s.Id)];

    private async Task<IReadOnlyList<StepRecord>> FoldAsync(string runId)
    {
        await using var journal = SqliteJournal.Open(Store);
        return StepFolding.Fold(await journal.GetEntriesAsync(runId, CancellationToken.None));
    }
}
