using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Durability;

/// <summary>Large outputs nested in their parents' are stored once, and a resume after SIGKILL gives them back byte for byte.</summary>
public sealed class LargeOutputResumeTests : IDisposable
{
    private const int Branches = 16;
    private const int Bytes = 1 << 20;
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private string Store => Path.Combine(_dir.Path, "store");

    [Fact]
    public async Task A_fan_out_of_large_outputs_killed_after_it_finished_resumes_with_byte_identical_outputs_and_a_journal_near_their_size()
    {
        var waiting = Path.Combine(_dir.Path, "waiting");
        var go = Path.Combine(_dir.Path, "go");
        var script = _dir.Write("fanout.csx", $$"""
            var outputs = await Parallel("fan", Merge.AllMustSucceed, Enumerable.Range(0, {{Branches}}).Select(i =>
                Branch($"b{i}", () => Agent("shell").RunAsync(new { script = $"yes branch-{i} | head -c {{Bytes}}" }))).ToArray());
            await Step("wait", async () =>
            {
                File.WriteAllText(@"{{waiting}}", "");
                while (!File.Exists(@"{{go}}")) await Task.Delay(20);
                return 0;
            });
            return await Step("digest", () => new JsonArray(Enumerable.Range(0, {{Branches}}).Select(i =>
            {
                var text = outputs![$"b{i}"]!["stdout"]!.GetValue<string>();
                return (JsonNode)$"{text.Length}:{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))}";
            }).ToArray()));
            """);

        using (var process = OrchestratorProcess.Start(_dir.Path, "run", script, "--store", Store, "--json"))
        {
            await process.WaitUntilAsync(() => File.Exists(waiting), "the fan-out to finish");
            await process.KillAsync();
        }

        var runId = JournalProbe.Runs(Store).Should().ContainSingle().Subject.Id;
        File.WriteAllText(go, "");
        using var resume = OrchestratorProcess.Start(_dir.Path, "resume", runId, "--store", Store, "--json");
        var resumed = await resume.WaitForExitAsync();

        resumed.ExitCode.Should().Be(0, resumed.ToString());
        var expected = Enumerable.Range(0, Branches).Select(i =>
        {
            var text = string.Concat(Enumerable.Repeat($"branch-{i}\n", Bytes / 8 + 1))[..Bytes];
            return $"{Bytes}:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))}";
        });
        JsonNode.Parse(resumed.LastLine)!["result"]!.AsArray().Select(n => n!.GetValue<string>()).Should().Equal(expected);
        JournalProbe.Events(Store, runId).Count(e => e.StepId.EndsWith("/shell", StringComparison.Ordinal) && e.Event == "Started")
            .Should().Be(Branches, "the shell steps finished before the kill and are replayed, not run again");

        SqliteConnection.ClearAllPools();
        var journalBytes = Directory.EnumerateFiles(Store, "journal.db*").Sum(f => new FileInfo(f).Length);
        journalBytes.Should().BeLessThan((long)(1.3 * Branches * Bytes), "each output is stored once, not in its agent, branch and parallel steps");
    }
}
