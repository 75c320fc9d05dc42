using System.Globalization;
using Orchestrator.Core.Journal;
using Spectre.Console;

namespace Orchestrator.Cli.Progress;

/// <summary>How a run shows its steps while it goes: a live view at a terminal, plain lines otherwise, nothing with --json or --quiet.</summary>
internal abstract class RunProgress : IAsyncDisposable
{
    /// <summary>Hears a journal event; called from the run's threads.</summary>
    public abstract void Observe(JournalEntry entry);

    public abstract ValueTask DisposeAsync();

    /// <summary>Picks the view for where the output goes: this process's terminal, or a client's that a host draws for.</summary>
    public static RunProgress? For(CliConsole console, bool json, bool quiet, ClientTerminal? client = null)
    {
        if (json || quiet)
        {
            return null;
        }

        if (client is not null)
        {
            return new LiveRunProgress(client.Console(console.Out), TimeProvider.System);
        }

        return ReferenceEquals(console.Out, Console.Out) && !Console.IsOutputRedirected
            ? new LiveRunProgress(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) }), TimeProvider.System)
            : new PlainRunProgress(console);
    }
}

/// <summary>One line per finished step: <c>✓ facts/kernel (shell) 12 ms</c>, <c>✗ build (shell) 3 ms: exit code 1</c>.</summary>
internal sealed class PlainRunProgress(CliConsole console) : RunProgress
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, DateTimeOffset> _started = new(StringComparer.Ordinal);

    public override void Observe(JournalEntry entry)
    {
        lock (_gate)
        {
            if (entry.Event == StepEvent.Started)
            {
                _started[entry.StepId] = entry.At;
                return;
            }

            var ms = _started.Remove(entry.StepId, out var at) ? (entry.At - at).TotalMilliseconds : 0;
            var agent = entry.Agent is null ? "" : $" ({entry.Agent})";
            var took = ms.ToString("0", CultureInfo.InvariantCulture) + " ms";
            console.Line(entry.Event switch
            {
                StepEvent.Succeeded => $"✓ {entry.StepId}{agent} {took}",
                StepEvent.Degraded => $"~ {entry.StepId}{agent} {took}: degraded: {entry.Error}",
                StepEvent.Compensated => $"↺ {entry.StepId}{agent} compensated",
                _ => $"✗ {entry.StepId}{agent} {took}: {entry.Error}",
            });
        }
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>A Spectre.Console live view of the step tree, redrawn on every event and a few times a second for the clocks.</summary>
internal sealed class LiveRunProgress : RunProgress
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(200);

    private readonly StepBoard _board;
    private readonly SemaphoreSlim _changed = new(0);
    private readonly CancellationTokenSource _done = new();
    private readonly Task _display;

    public LiveRunProgress(IAnsiConsole console, TimeProvider time)
    {
        _board = new StepBoard(time);
        _display = console.Live(_board.Render()).AutoClear(false).StartAsync(async context =>
        {
            while (!_done.IsCancellationRequested)
            {
                try
                {
                    // A redraw cadence for the clocks on the screen, not a timing the engine depends on.
                    await _changed.WaitAsync(Tick, _done.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                context.UpdateTarget(_board.Render());
            }

            context.UpdateTarget(_board.Render());
        });
    }

    public override void Observe(JournalEntry entry)
    {
        _board.Observe(entry);
        _changed.Release();
    }

    public override async ValueTask DisposeAsync()
    {
        await _done.CancelAsync().ConfigureAwait(false);
        await _display.ConfigureAwait(false);
        _done.Dispose();
        _changed.Dispose();
    }
}
