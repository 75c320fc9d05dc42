using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Plugins;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.Health;

/// <summary>
/// Circuits that do not fight recovery, with the standard plugins alone: one shell command that keeps failing opens
/// its own circuit, other commands run on, a rollback's compensation runs through the open circuit, and a retry waits
/// for the trial call instead of spending its attempt on a circuit that cannot answer yet.
/// </summary>
public sealed class CircuitByTargetTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_failing_command_opens_its_own_circuit_while_other_commands_compensations_and_a_waiting_retry_go_through()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
        var gate = Path.Combine(_dir.Path, "gate");
        var undone = Path.Combine(_dir.Path, "undone");
        var waiting = Path.Combine(_dir.Path, "waiting");
        var script = _dir.Write("circuits.csx", $$"""
            // `sh` fails three times in a row: the shell agent's circuit for `sh` opens (3 calls, all failed).
            for (var i = 0; i < 3; i++)
            {
                try { await Agent("shell").RunAsync(new { command = "sh", args = new[] { "-c", "test -f '{{gate}}'" } }, name: "flaky"); }
                catch (StepFailedException) { }
            }

            // Another command has a circuit of its own.
            var unrelated = await Agent("shell").RunAsync(new { command = "echo", args = new[] { "fine" } }, name: "unrelated");

            // A step whose compensation needs `sh`, then a publish that fails and rolls back: the compensation runs anyway.
            File.WriteAllText(@"{{gate}}", "");
            await Agent("shell").RunAsync(new { command = "echo", args = new[] { "reserved" } }, name: "reserve",
                compensate: () => Agent("shell").RunAsync(new { command = "sh", args = new[] { "-c", "touch '{{undone}}'" } }));
            string publish;
            try { await Agent("shell").RunAsync(new { command = "false" }, name: "publish", recovery: Recovery("rollback", new { retry = false })); publish = "published"; }
            catch (StepFailedException ex) { publish = ex.Reason; }

            // `sh` again, its circuit still open: the first attempt fails at once, the retry waits for the trial call.
            File.WriteAllText(@"{{waiting}}", "");
            var retried = await Agent("shell").RunAsync(new { command = "sh", args = new[] { "-c", "test -f '{{gate}}'" } }, name: "retried",
                recovery: Recovery("retry", new { maxAttempts = 1, delayMs = 10, jitter = false }));
            return new { unrelated = unrelated!["stdout"]!.GetValue<string>().Trim(), publish, retried = retried!["exitCode"]!.GetValue<int>() };
            """);
        using var plugins = PluginHost.Load([PluginHost.DefaultDirectory], Logger.None);
        using var program = CSharpWorkflow.Compile(script, Logger.None);
        var journal = new InMemoryJournal();
        var started = time.GetUtcNow();

        var run = new WorkflowEngine(journal, plugins, null, time, Logger.None).RunAsync(program, null, CancellationToken.None);

        // The clock stands still until the script reaches the retry; then it moves a second at a time.
        while (!run.IsCompleted)
        {
            if (File.Exists(waiting))
            {
                time.Advance(TimeSpan.FromSeconds(1));
            }

            await Task.WhenAny(run, Task.Delay(20));
        }

        var outcome = await run;
        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        var result = outcome.Run.Result!;
        result["unrelated"]!.GetValue<string>().Should().Be("fine");
        result["publish"]!.GetValue<string>().Should().Contain("exit");
        File.Exists(undone).Should().BeTrue("the rollback's compensation ran through the open circuit of `sh`");
        result["retried"]!.GetValue<int>().Should().Be(0);
        (time.GetUtcNow() - started).Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(29), "the retry waited for the break to end");

        var steps = StepFolding.Fold(await journal.GetEntriesAsync(outcome.Run.Id, CancellationToken.None));
        steps.Should().Contain(s => s.Id == "retried" && s.Status == RunStatus.Succeeded);
        steps.Where(s => s.Id.StartsWith("retried/", StringComparison.Ordinal) && s.Kind == "attempt").Should().ContainSingle()
            .Which.Status.Should().Be(RunStatus.Succeeded, "the one retry was the trial call, and it succeeded");
    }
}
