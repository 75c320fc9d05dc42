using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.New;

public sealed class NewWorkflowTests
{
    [Theory]
    [InlineData(".csx")]
    [InlineData(".js")]
    public async Task The_starter_workflow_runs_as_written_and_explains_the_DSL(string extension)
    {
        using var dir = new TempDirectory();
        var name = Path.Combine(dir.Path, "flows", "greet");
        string[] args = extension == ".js" ? ["new", "workflow", name, "--js"] : ["new", "workflow", name];

        var created = await CliRunner.RunAsync(args);

        created.ExitCode.Should().Be(0, created.ToString());
        var script = name + extension;
        File.ReadAllText(script).Should().Contain("// Run an agent").And.Contain("greet" + extension).And.NotContain("{{name}}");

        var run = await CliRunner.RunAsync("run", script, "--store", Path.Combine(dir.Path, "store"), "--input", "{\"who\":\"tests\"}", "--json");

        run.ExitCode.Should().Be(0, run.ToString());
        var outcome = JsonNode.Parse(run.LastLine)!;
        outcome["result"]!["greeting"]!.GetValue<string>().Should().Be("hello, tests");
        outcome["result"]!["words"]!.GetValue<int>().Should().Be(3);
    }

    [Fact]
    public async Task An_existing_file_is_never_overwritten()
    {
        using var dir = new TempDirectory();
        var existing = dir.Write("mine.csx", "return 1;");

        var result = await CliRunner.RunAsync("new", "workflow", Path.Combine(dir.Path, "mine"));

        result.ExitCode.Should().Be(2);
        result.Stderr.Should().Contain("already exists");
        File.ReadAllText(existing).Should().Be("return 1;");
    }
}
