using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Waits;

/// <summary>Acceptance 7: the release example of docs/waits.md, as its comments say, in both languages.</summary>
public sealed class ReleaseExampleTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string Store => Path.Combine(_dir.Path, "store");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("release.csx")]
    [InlineData("release.js")]
    public async Task The_release_builds_waits_for_approval_deploys_waits_for_health_and_hands_off(string script)
    {
        var run = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, script), "--store", Store, "--input", """{"version":"1.4.2"}""");
        run.ExitCode.Should().Be(3, run.ToString());
        run.Stdout.Should().Contain("waiting for approval 'deploy'").And.Contain("\"artifact\":\"release-1.4.2.tar.gz\"");
        var runId = WaitingRuns.IdOf(run.Stdout);

        var approved = await CliRunner.RunAsync("approve", runId, "deploy", "--by", "release-manager", "--comment", "ship it", "--resume", "--store", Store);
        approved.ExitCode.Should().Be(3, approved.ToString());
        approved.Stdout.Should().Contain("waiting for event 'healthy'");

        (await CliRunner.RunAsync("signal", runId, "healthy", "--data", """{"healthy":true,"p99Ms":180}""", "--store", Store)).ExitCode.Should().Be(0);
        var done = await CliRunner.RunAsync("resume", runId, "--store", Store, "--json");

        done.ExitCode.Should().Be(0, done.ToString());
        var outcome = JsonNode.Parse(done.LastLine)!;
        outcome["result"]!.ToJsonString().Should().Be("""{"version":"1.4.2","approvedBy":"release-manager","healthy":true}""");
        File.ReadAllText(outcome["report"]!.GetValue<string>()).Should().Contain("| deploy | approved | release-manager |");
    }
}
