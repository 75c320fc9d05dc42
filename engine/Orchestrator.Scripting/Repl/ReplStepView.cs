using System.Globalization;
using Orchestrator.Core.Journal;

namespace Orchestrator.Scripting.Repl;

/// <summary>
/// The live step view of a REPL submission at a terminal: while it runs, one status line under the input shows the
/// steps running and how long each has run (<c>… greet (shell) 1.2 s</c>), redrawn on every journal event and a few
/// times a second for the clocks, and cleared before the submission's output is printed. Fed by the run's events,
/// as <c>run</c>'s live progress is.
/// </summary>
internal sealed class ReplStepView(TextWriter output, TimeProvider time)
{
    private const int MaxWidth = 120;

    // A redraw cadence for the clocks on the screen, not a timing anything depends on.
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(200);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Running> _running = new(StringComparer.Ordinal);
    private ITimer? _timer;
    private bool _drawn;

    /// <summary>Hears a journal event of the session's run; called from the run's threads.</summary>
    public void Observe(JournalEntry entry)
    {
        lock (_gate)
        {
            if (entry.Event == StepEvent.Started)
            {
                _running[entry.StepId] = new Running(entry.StepId, entry.ParentId, entry.Agent, entry.At);
            }
            else
            {
                _running.Remove(entry.StepId);
            }

            if (_timer is not null)
            {
                Draw();
            }
        }
    }

    /// <summary>Shows the view until the returned handle is disposed (the submission ended); the line is then cleared.</summary>
    public IDisposable Show()
    {
        lock (_gate)
        {
            _timer?.Dispose();
            _timer = time.CreateTimer(_ => Redraw(), null, Tick, Tick);
        }

        return new Showing(this);
    }

    /// <summary>
    /// The status line: the steps running now, oldest first, with their elapsed time; a step whose children run (a
    /// parallel step, a phase) gives way to them. Empty when none runs.
    /// </summary>
    public string Status()
    {
        lock (_gate)
        {
            if (_running.Count == 0)
            {
                return "";
            }

            var now = time.GetUtcNow();
            var parents = _running.Values.Select(r => r.ParentId).ToHashSet(StringComparer.Ordinal);
            var steps = _running.Values.Where(r => !parents.Contains(r.StepId)).OrderBy(r => r.Since).Select(r => $"{r.StepId}{(r.Agent is null ? "" : $" ({r.Agent})")} {Elapsed(now - r.Since)}");
            var text = "… " + string.Join(", ", steps);
            return text.Length <= MaxWidth ? text : text[..(MaxWidth - 1)] + "…";
        }
    }

    private void Redraw()
    {
        lock (_gate)
        {
            if (_timer is not null)
            {
                Draw();
            }
        }
    }

    private void Draw()
    {
        var status = Status();
        if (status.Length == 0 && !_drawn)
        {
            return;
        }

        output.Write("\r" + status + "\u001b[K");
        output.Flush();
        _drawn = status.Length > 0;
    }

    private void Hide()
    {
        lock (_gate)
        {
            _timer?.Dispose();
            _timer = null;
            if (_drawn)
            {
                output.Write("\r\u001b[K");
                output.Flush();
                _drawn = false;
            }
        }
    }

    private static string Elapsed(TimeSpan elapsed) =>
        elapsed.TotalMilliseconds >= 1000
            ? (elapsed.TotalMilliseconds / 1000).ToString("0.0", CultureInfo.InvariantCulture) + " s"
            : Math.Max(0, elapsed.TotalMilliseconds).ToString("0", CultureInfo.InvariantCulture) + " ms";

    private sealed record Running(string StepId, string? ParentId, string? Agent, DateTimeOffset Since);

    private sealed class Showing(ReplStepView view) : IDisposable
    {
        public void Dispose() => view.Hide();
    }
}
