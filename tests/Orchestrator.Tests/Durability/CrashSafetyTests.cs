using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Tests.Support;
using Xunit.Abstractions;

namespace Orchestrator.Tests.Durability;

/// <summary>
/// Crash safety with real processes: a real <c>orchestrator</c> is SIGKILLed again and again while it runs
/// a workflow of real child processes, and each time <c>orchestrator resume</c> picks the run up.
/// </summary>
public sealed class CrashSafetyTests(ITestOutputHelper output) : IDisposable
{
    // Room to spare: a loaded machine may see a process finish a step or two more before the kill lands.
    private const int AgentSteps = 35;
    private const int KillPoints = 20;

    // 35 shell steps, each a real child process a little slower than a kill takes to land (so that a kill can
    // fall inside a step), then one step that computes the result from all of their outputs.
    private const string Workflow = """
        var values = new List<int>();
        for (var i = 0; i < 35; i++)
        {
            var step = await Agent("shell").RunAsync(new { command = "sh", args = new[] { "-c", $"sleep 0.2; echo {i * i + 1}" } }, name: $"s{i}");
            values.Add(int.Parse(step!["stdout"]!.GetValue<string>().Trim()));
        }

        return await Step("total", () => new { count = values.Count, sum = values.Sum(), values });
        """;

    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_run_SIGKILLed_at_20_points_and_resumed_each_time_finishes_every_step_exactly_once_with_the_uninterrupted_result()
    {
        var clock = Stopwatch.StartNew();
        var script = _dir.Write("flow.csx", Workflow);
        var stepIds = Enumerable.Range(0, AgentSteps).Select(i => $"s{i}").Append("total").ToList();

        // The reference: the same script, never interrupted, in a store of its own.
        var reference = await RunToEndAsync("run", script, "--store", Path.Combine(_dir.Path, "reference"), "--json");
        reference.ExitCode.Should().Be(0, reference.ToString());
        var expected = JsonNode.Parse(reference.LastLine)!["result"];
        expected.Should().NotBeNull(reference.ToString());
        output.WriteLine($"uninterrupted run: {clock.ElapsedMilliseconds} ms, result {expected!.ToJsonString()}");

        var store = Path.Combine(_dir.Path, "store");
        string? runId = null;
        var killedMidStep = 0;
        for (var k = 1; k <= KillPoints; k++)
        {
            // Point k: at least k finished steps, and at least one more than before this process started,
            // so that every process does real work (replay, then new steps) before it dies.
            var before = JournalProbe.CountSucceeded(store);
            var point = Math.Max(k, before + 1);
            point.Should().BeLessThanOrEqualTo(AgentSteps, $"kill point {k} must fall before the workflow's last agent step; the steps ran too fast to kill in time");

            using var process = runId is null
                ? Start("run", script, "--store", store, "--json")
                : Start("resume", runId, "--store", store, "--json");

            // Where the kill lands varies: right as a step finished (the next one starting), or inside the next one.
            var offset = k % 3 * 60;
            await process.KillWhenAsync(() => JournalProbe.CountSucceeded(store) >= point, TimeSpan.FromMilliseconds(offset), $"{point} finished steps (kill point {k})");

            // Crash safety: after every kill the journal opens, is intact, and holds each finished step once.
            JournalProbe.IntegrityCheck(store).Should().Be("ok", $"the journal must survive kill {k}");
            var runs = JournalProbe.Runs(store);
            runs.Should().ContainSingle($"a resume continues the run, never starts another (kill {k})");
            runId ??= runs[0].Id;
            runs[0].Id.Should().Be(runId);
            runs[0].Status.Should().Be("Running", $"a process killed with SIGKILL never ends its run (kill {k}): {process.Stdout}{process.Stderr}");

            var events = JournalProbe.Events(store, runId);
            AssertEachStepSucceededAtMostOnce(events, $"after kill {k}");
            events.Should().NotContain(e => e.Event == "Failed", "SIGKILL gives no step the chance to fail");
            var unfinished = JournalProbe.Unfinished(events);
            if (unfinished.Count > 0)
            {
                killedMidStep++;
            }

            if (k == KillPoints)
            {
                // What a user sees after a crash: the run listed as interrupted, ready to resume.
                var interrupted = await CliRunner.RunAsync("runs", "--store", store);
                interrupted.Stdout.Split('\n').Should().ContainSingle(l => l.StartsWith(runId, StringComparison.Ordinal))
                    .Which.Should().MatchRegex($@"^{runId}\s+interrupted\s", interrupted.ToString());
            }

            output.WriteLine(
                $"kill {k,2} at {clock.ElapsedMilliseconds,6} ms: waited for {point,2} finished steps (+{offset} ms), " +
                $"journal has {events.Count(e => e.Event == "Succeeded"),2}, cut off mid-step: {(unfinished.Count == 0 ? "-" : string.Join(", ", unfinished))}");
        }

        // Once more, left alone this time: it must finish.
        var final = await RunToEndAsync("resume", runId!, "--store", store, "--json");
        output.WriteLine($"final resume done at {clock.ElapsedMilliseconds} ms");

        final.ExitCode.Should().Be(0, final.ToString());
        var outcome = JsonNode.Parse(final.LastLine)!;
        outcome["status"]!.GetValue<string>().Should().Be("succeeded");
        outcome["runId"]!.GetValue<string>().Should().Be(runId);
        JsonNode.DeepEquals(outcome["result"], expected).Should().BeTrue(
            $"the resumed run's result {outcome["result"]?.ToJsonString()} must equal the uninterrupted run's {expected.ToJsonString()}");

        var run = JournalProbe.Runs(store).Should().ContainSingle().Subject;
        run.Status.Should().Be("Succeeded");
        JsonNode.DeepEquals(JsonNode.Parse(run.Result!), expected).Should().BeTrue("the runs table keeps the same result");

        var journal = JournalProbe.Events(store, runId!);
        AssertEachStepSucceededAtMostOnce(journal, "at the end");
        journal.Where(e => e.Event == "Succeeded").Select(e => e.StepId).Should().BeEquivalentTo(stepIds, "every step finished, each exactly once");
        JournalProbe.Unfinished(journal).Should().BeEmpty();
        foreach (var step in journal.GroupBy(e => e.StepId))
        {
            // Each run of a step is a new attempt: 1, 2, …; the one that finished is the last.
            var attempts = step.Where(e => e.Event == "Started").Select(e => e.Attempt).ToList();
            attempts.Should().Equal(Enumerable.Range(1, attempts.Count), $"step {step.Key} numbers its attempts in order");
            step.Single(e => e.Event == "Succeeded").Attempt.Should().Be(attempts.Count, $"step {step.Key} finished on its last attempt");
        }

        killedMidStep.Should().BeGreaterThanOrEqualTo(5, "the test must really cut steps off mid-way, not only between them");
        journal.Should().Contain(e => e.Event == "Started" && e.Attempt > 1, "a step cut off mid-way runs again on resume");

        var listed = await CliRunner.RunAsync("runs", "--store", store);
        listed.ExitCode.Should().Be(0, listed.ToString());
        listed.Stdout.Split('\n').Should().ContainSingle(l => l.StartsWith(runId!, StringComparison.Ordinal))
            .Which.Should().MatchRegex($@"^{runId}\s+succeeded\s");

        output.WriteLine($"total {clock.ElapsedMilliseconds} ms; {killedMidStep} of {KillPoints} kills landed mid-step");
    }

    private static void AssertEachStepSucceededAtMostOnce(IEnumerable<JournalRow> events, string when)
    {
        var twice = events.Where(e => e.Event == "Succeeded")
            .GroupBy(e => e.StepId, StringComparer.Ordinal)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key} ×{g.Count()}")
            .ToList();
        twice.Should().BeEmpty($"a finished step is replayed, never finished again ({when})");
    }

    private OrchestratorProcess Start(params string[] args) => OrchestratorProcess.Start(_dir.Path, args);

    private async Task<CliResult> RunToEndAsync(params string[] args)
    {
        using var process = Start(args);
        return await process.WaitForExitAsync();
    }
}
