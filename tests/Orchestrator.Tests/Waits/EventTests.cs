using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Waits;
using Orchestrator.Tests.Durability;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Waits;

/// <summary>Acceptance 3: events sent before, during and after a wait; the event's data is the step's output; kill -9 while waiting.</summary>
public sealed class EventTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string Store => Path.Combine(_dir.Path, "store");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public async Task An_event_sent_while_the_run_waits_is_the_wait_steps_output_on_resume()
    {
        var script = _dir.Write("pay.js", """
            const payment = await waitForEvent("payment", { timeoutMs: 86400000 });
            return { paid: payment.amount };
            """);
        var run = await CliRunner.RunAsync("run", script, "--store", Store);
        run.ExitCode.Should().Be(3, run.ToString());
        var runId = WaitingRuns.IdOf(run.Stdout);
        run.Stdout.Should().Contain($"orchestrator signal {runId} payment --data");
        (await CliRunner.RunAsync("resume", runId, "--store", Store)).ExitCode.Should().Be(3, "no event yet: it still waits");

        var signal = await CliRunner.RunAsync("signal", runId, "payment", "--data", """{"amount":42}""", "--store", Store);
        signal.ExitCode.Should().Be(0, signal.ToString());
        var resume = await CliRunner.RunAsync("resume", runId, "--store", Store, "--json");

        resume.ExitCode.Should().Be(0, resume.ToString());
        JsonNode.Parse(resume.LastLine)!["result"]!.ToJsonString().Should().Be("""{"paid":42}""");
        var steps = await WaitingRuns.StepsAsync(Store, runId);
        steps.Single(s => s.Id == "payment").Output!.ToJsonString().Should().Be("""{"amount":42}""");
    }

    [Fact]
    public async Task An_event_sent_before_the_run_waits_for_it_is_kept_and_taken_by_the_first_wait_only()
    {
        var script = _dir.Write("early.csx", """
            await Approval("go");
            var first = await WaitForEvent("payment");
            var second = await WaitForEvent("payment");
            return new { first, second };
            """);
        var runId = WaitingRuns.IdOf((await CliRunner.RunAsync("run", script, "--store", Store)).Stdout);
        (await CliRunner.RunAsync("signal", runId, "payment", "--data", "1", "--store", Store)).ExitCode.Should().Be(0);

        var approved = await CliRunner.RunAsync("approve", runId, "--resume", "--store", Store);

        approved.ExitCode.Should().Be(3, approved.ToString());
        approved.Stdout.Should().Contain("waiting for event 'payment'");
        var steps = await WaitingRuns.StepsAsync(Store, runId);
        steps.Single(s => s.Id == "payment").Output!.ToJsonString().Should().Be("1");
        steps.Single(s => s.Id == "payment#2").Status.Should().Be(RunStatus.Running, "the one event went to the first wait");

        (await CliRunner.RunAsync("signal", runId, "payment", "--data", "2", "--store", Store)).ExitCode.Should().Be(0);
        var done = await CliRunner.RunAsync("resume", runId, "--store", Store, "--json");
        done.ExitCode.Should().Be(0, done.ToString());
        JsonNode.Parse(done.LastLine)!["result"]!.ToJsonString().Should().Be("""{"first":1,"second":2}""");
    }

    [Fact]
    public async Task A_signal_to_a_finished_run_is_one_clear_error_line_with_exit_2_and_stores_nothing()
    {
        var script = _dir.Write("quick.csx", "return 1;\n");
        var run = await CliRunner.RunAsync("run", script, "--store", Store, "--json");
        var runId = JsonNode.Parse(run.LastLine)!["runId"]!.GetValue<string>();

        var signal = await CliRunner.RunAsync("signal", runId, "payment", "--store", Store);

        signal.ExitCode.Should().Be(2);
        signal.Stderr.Trim().Should().Be($"orchestrator: run {runId} already succeeded; no step of it will wait for event 'payment' any more");
        await using var journal = SqliteJournal.Open(Store);
        (await journal.Waits.ConsumeAsync(runId, "payment", "probe", DateTimeOffset.UnixEpoch, default)).Should().BeNull();
    }

    [Fact]
    public async Task A_signal_after_the_wait_timed_out_is_refused_saying_so()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero));
        var harness = new EngineHarness(time, null, [new EchoAgent()], []);
        var script = _dir.Write("late.csx", """
            try { await WaitForEvent("payment", TimeSpan.FromMinutes(30)); }
            catch (StepFailedException) { }
            await Approval("refund");
            return 1;
            """);
        var (parked, _) = await harness.RunCsxAsync(script);
        time.Advance(TimeSpan.FromMinutes(30));
        var (resumed, steps) = await harness.ResumeCsxAsync(script, parked.Run.Id);
        resumed.Run.Status.Should().Be(RunStatus.Waiting);
        steps.Single(s => s.Id == "payment").Error.Should().Be("event 'payment' timed out at 2026-12-05T09:30:00Z");

        var refused = async () => await WaitDecisions.SignalAsync(harness.Journal, parked.Run.Id, "payment", null, time.GetUtcNow(), default);

        (await refused.Should().ThrowAsync<WaitRefusedException>()).Which.Message.Should().Be(
            $"run {parked.Run.Id} stopped waiting for event 'payment' at 2026-12-05T09:30:00Z: its wait timed out");
    }

    [Fact]
    public async Task Killed_with_SIGKILL_while_waiting_a_resumed_run_still_waits_and_an_event_sent_meanwhile_is_not_lost()
    {
        var busy = Path.Combine(_dir.Path, "busy");
        var fast = Path.Combine(_dir.Path, "fast");
        var script = _dir.Write("order.csx", $$"""
            var got = await Parallel("order", Merge.CollectAll,
                Branch("payment", () => WaitForEvent("payment")),
                Branch("work", () => Step("pack", async () =>
                {
                    if (!File.Exists(@"{{fast}}")) { File.WriteAllText(@"{{busy}}", ""); await Task.Delay(Timeout.Infinite); }
                    return "packed";
                })));
            var shipped = await WaitForEvent("shipped");
            return new { got, shipped };
            """);
        using (var process = OrchestratorProcess.Start(_dir.Path, "run", script, "--store", Store, "--json"))
        {
            await process.WaitUntilAsync(() => File.Exists(busy) && OpenWaits().Contains("order/payment/payment"), "the run to wait for the payment while packing");
            await process.KillAsync();
        }

        var runId = JournalProbe.Runs(Store).Single().Id;
        (await CliRunner.RunAsync("runs", "--store", Store)).Stdout.Should().MatchRegex($@"{runId}\s+interrupted");
        var signal = await CliRunner.RunAsync("signal", runId, "payment", "--data", """{"amount":7}""", "--store", Store);
        signal.ExitCode.Should().Be(0, signal.ToString());
        File.WriteAllText(fast, "");

        var resumed = await CliRunner.RunAsync("resume", runId, "--store", Store);

        resumed.ExitCode.Should().Be(3, resumed.ToString());
        resumed.Stdout.Should().Contain("waiting for event 'shipped'");
        var steps = await WaitingRuns.StepsAsync(Store, runId);
        steps.Single(s => s.Id == "order/payment/payment").Output!.ToJsonString().Should().Be("""{"amount":7}""", "the event sent while no process ran was kept");
        (await CliRunner.RunAsync("signal", runId, "shipped", "--data", "true", "--store", Store)).ExitCode.Should().Be(0);
        var done = await CliRunner.RunAsync("resume", runId, "--store", Store, "--json");
        done.ExitCode.Should().Be(0, done.ToString());
        JsonNode.Parse(done.LastLine)!["result"]!["shipped"]!.GetValue<bool>().Should().BeTrue();
    }

    private List<string> OpenWaits()
    {
        if (!File.Exists(JournalProbe.DatabasePath(Store)))
        {
            return [];
        }

        try
        {
            using var connection = new SqliteConnection($"Data Source={JournalProbe.DatabasePath(Store)};Mode=ReadOnly;Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT step_id FROM waits WHERE closed_at IS NULL";
            using var reader = command.ExecuteReader();
            var ids = new List<string>();
            while (reader.Read())
            {
                ids.Add(reader.GetString(0));
            }

            return ids;
        }
        catch (SqliteException)
        {
            return [];
        }
    }
}
