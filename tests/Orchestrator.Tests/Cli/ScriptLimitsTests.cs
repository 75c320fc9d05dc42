using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Cli;

/// <summary>A hostile or broken JavaScript workflow ends its run; the host carries on.</summary>
public sealed class ScriptLimitsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("loop.js", "while (true) { }", "statements")]
    [InlineData("recursion.js", "function down(n) { return down(n + 1) + 1; }\ndown(0);", "recursion")]
    [InlineData("hog.js", "const hoard = [];\nwhile (true) { hoard.push(new Array(100000).fill('x')); }", "memory")]
    public async Task A_runaway_script_exits_1_with_a_clear_message_and_the_host_stays_up(string file, string source, string limit)
    {
        var store = Path.Combine(_dir.Path, "store");
        var script = _dir.Write(file, source);

        var result = await CliRunner.RunAsync("run", script, "--store", store);
        var after = await CliRunner.RunAsync("runs", "--store", store);

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain(file).And.Contain(limit);
        after.ExitCode.Should().Be(0);
        after.Stdout.Should().Contain("failed").And.Contain(file);
    }
}
