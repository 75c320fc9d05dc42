using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Examples;

/// <summary>Every script in scripts/ runs end to end through the real command line.</summary>
public sealed class ExampleScriptsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string Store => Path.Combine(_dir.Path, "store");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("hello.csx")]
    [InlineData("hello.js")]
    public async Task Hello_greets_the_input_and_hands_off_its_summary(string script)
    {
        var result = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, script), "--store", Store, "--json", "--input", """{"name":"tests"}""");

        result.ExitCode.Should().Be(0, result.ToString());
        var outcome = JsonNode.Parse(result.LastLine)!;
        outcome["result"]!.ToJsonString().Should().Be("""{"greeting":"hello, tests","kernel":"Linux","words":3}""");
        File.ReadAllText(outcome["report"]!.GetValue<string>()).Should().Contain("| greeting | hello, tests |");
    }

    [Fact]
    public async Task Resilient_recovers_degrades_and_rolls_back_as_its_comments_say()
    {
        var result = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, "resilient.js"), "--store", Store, "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        var outcome = JsonNode.Parse(result.LastLine)!;
        outcome["result"]!.ToJsonString().Should().Be(
            """{"build":"built","fetched":"artifact from the local cache","checks":["unit"],"undone":["untag","unstage"]}""");
        var report = File.ReadAllText(outcome["report"]!.GetValue<string>());
        report.Should().Contain("build/retry").And.Contain("fetch/fallback").And.Contain("minor: ").And.Contain("optional branch dropped").And.Contain("compensated");
    }

    [Fact]
    public async Task Build_and_test_builds_a_project_checks_it_in_parallel_and_renders_its_own_report()
    {
        var project = _dir.Write("tiny/Tiny.csproj", """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup>
            </Project>
            """);
        _dir.Write("tiny/Tiny.cs", "namespace Tiny;\n// TODO: one marker\npublic static class Answer { public static int Value => 42; }\n");
        _dir.Write("tiny/Directory.Build.props", "<Project />");
        _dir.Write("tiny/Directory.Packages.props", "<Project />");

        var result = await CliRunner.RunAsync(
            "run", Path.Combine(RepoPaths.Scripts, "build-and-test.csx"), "--store", Store, "--json",
            "--input", new JsonObject { ["project"] = project }.ToJsonString());

        result.ExitCode.Should().Be(0, result.ToString());
        var outcome = JsonNode.Parse(result.LastLine)!;
        outcome["result"]!["built"]!.GetValue<bool>().Should().BeTrue();
        outcome["result"]!["markers"]!.GetValue<int>().Should().Be(1);
        outcome["result"]!["linesOfCode"]!.GetValue<int>().Should().Be(3);
        var report = File.ReadAllText(outcome["report"]!.GetValue<string>());
        report.Should().StartWith("# Build report: " + project).And.Contain("| TODO/FIXME/HACK markers | 1 |").And.Contain("checks/build/shell");
    }

    [Theory]
    [InlineData("phases.csx", """{"dir":"DIR"}""")]
    [InlineData("phases.js", """{"dir":"DIR","files":["a.txt","b.txt","c.txt"]}""")]
    public async Task Phases_tries_each_strategy_then_learns_and_stats_shows_it(string script, string input)
    {
        var dir = Path.Combine(_dir.Path, "files");
        foreach (var name in new[] { "a.txt", "b.txt", "c.txt" })
        {
            _dir.Write("files/" + name, name);
        }

        var chosen = new List<string>();
        for (var run = 0; run < 3; run++)
        {
            var result = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, script), "--store", Store, "--json", "--input", input.Replace("DIR", dir, StringComparison.Ordinal));
            result.ExitCode.Should().Be(0, result.ToString());
            var outcome = JsonNode.Parse(result.LastLine)!;
            outcome["result"]!.ToJsonString().Should().Be("""{"files":3,"distinct":3}""");
            var report = File.ReadAllText(outcome["report"]!.GetValue<string>());
            report.Should().Contain("## Strategies");
            chosen.Add(report.Contains("| checksum | one-at-a-time |", StringComparison.Ordinal) ? "one-at-a-time" : "fan-out");
        }

        chosen.Take(2).Should().Equal("one-at-a-time", "fan-out");
        var stats = await CliRunner.RunAsync("stats", "--store", Store, "--phase", "checksum");
        stats.ExitCode.Should().Be(0, stats.ToString());
        stats.Stdout.Should().Contain("one-at-a-time").And.Contain("fan-out").And.Contain("shell");
    }
}
