using System.Text;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Journal;
using Orchestrator.Scripting.Repl;

namespace Orchestrator.Tests.Repl;

/// <summary>The REPL's live step view: the running steps and their elapsed time while a submission runs.</summary>
public sealed class StepViewTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 5, 4, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_status_names_the_running_steps_with_their_elapsed_time_and_drops_finished_ones()
    {
        var time = new FakeTimeProvider(Start);
        var view = new ReplStepView(TextWriter.Null, time);

        view.Observe(Entry("build", StepEvent.Started, Start));
        time.Advance(TimeSpan.FromMilliseconds(300));
        view.Observe(Entry("facts", StepEvent.Started, time.GetUtcNow()) with { Agent = null });
        view.Observe(Entry("facts/kernel/shell", StepEvent.Started, time.GetUtcNow()) with { ParentId = "facts" });
        time.Advance(TimeSpan.FromMilliseconds(900));

        view.Status().Should().Be("… build (shell) 1.2 s, facts/kernel/shell (shell) 900 ms");

        view.Observe(Entry("build", StepEvent.Failed, time.GetUtcNow()));
        view.Observe(Entry("facts/kernel/shell", StepEvent.Succeeded, time.GetUtcNow()) with { ParentId = "facts" });

        view.Status().Should().Be("… facts 900 ms", "a parallel step shows itself once its branches have ended");
    }

    [Fact]
    public async Task A_running_submission_shows_its_step_as_the_clock_ticks_and_clears_it_before_the_value()
    {
        var time = new FakeTimeProvider(Start);
        var screen = new StringWriter(new StringBuilder());
        var view = new ReplStepView(screen, time);
        var session = new ReplSession(new TextLineReader(TextReader.Null), screen, new ReplHistory(null)) { Steps = view };
        var language = new SlowStep(view, time);

        await session.SubmitAsync(language, "await agent(\"shell\").run({})", "repl", CancellationToken.None);

        screen.ToString().Should().Be(
            "\r… greet (shell) 0 ms\u001b[K" +
            "\r… greet (shell) 200 ms\u001b[K" +
            "\r… greet (shell) 400 ms\u001b[K" +
            "\r\u001b[K" +
            "42" + Environment.NewLine);
    }

    [Fact]
    public async Task Without_a_step_view_nothing_but_the_value_is_printed()
    {
        var time = new FakeTimeProvider(Start);
        var screen = new StringWriter(new StringBuilder());
        var session = new ReplSession(new TextLineReader(TextReader.Null), screen, new ReplHistory(null));

        await session.SubmitAsync(new SlowStep(new ReplStepView(TextWriter.Null, time), time), "x", "repl", CancellationToken.None);

        screen.ToString().Should().Be("42" + Environment.NewLine);
    }

    private static JournalEntry Entry(string id, StepEvent what, DateTimeOffset at) =>
        new("run", 1, id, what, null, id, "agent", "shell", 1, null, null, at);

    /// <summary>A submission whose one step runs 400 ms of fake time, its events fed to the view as the engine would.</summary>
    private sealed class SlowStep(ReplStepView view, FakeTimeProvider time) : IReplLanguage
    {
        public string Name => "test";

        public bool IsComplete(string code) => true;

        public Task<ReplOutput> EvaluateAsync(string code, string source, CancellationToken cancellationToken)
        {
            view.Observe(Entry("greet", StepEvent.Started, time.GetUtcNow()));
            time.Advance(TimeSpan.FromMilliseconds(200));
            time.Advance(TimeSpan.FromMilliseconds(200));
            view.Observe(Entry("greet", StepEvent.Succeeded, time.GetUtcNow()));
            return Task.FromResult(new ReplOutput("42", null));
        }

        public void Reset()
        {
        }
    }
}
