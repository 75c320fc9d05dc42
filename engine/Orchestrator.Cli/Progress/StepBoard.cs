using System.Globalization;
using Orchestrator.Core.Journal;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Orchestrator.Cli.Progress;

/// <summary>
/// The live view's model: every step of the run folded from its journal events as they arrive, rendered as a tree
/// with the branches of a parallel step side by side. Events come from the run's threads, renders from the display's.
/// </summary>
internal sealed class StepBoard(TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Line> _steps = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public void Observe(JournalEntry entry)
    {
        lock (_gate)
        {
            if (!_steps.TryGetValue(entry.StepId, out var line))
            {
                _order.Add(entry.StepId);
            }

            _steps[entry.StepId] = entry.Event switch
            {
                StepEvent.Started => new Line(entry.StepId, entry.ParentId, entry.Name, entry.Kind, entry.Agent, StepEvent.Started, entry.At, null, null),
                _ => (line ?? new Line(entry.StepId, entry.ParentId, entry.Name, entry.Kind, entry.Agent, entry.Event, entry.At, null, null))
                    with { State = entry.Event, EndedAt = entry.At, Error = entry.Error },
            };
        }
    }

    public IRenderable Render()
    {
        List<Line> lines;
        lock (_gate)
        {
            lines = [.. _order.Select(id => _steps[id])];
        }

        var children = lines.Where(l => l.ParentId is not null).GroupBy(l => l.ParentId!).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var known = lines.Select(l => l.Id).ToHashSet(StringComparer.Ordinal);
        var roots = lines.Where(l => l.ParentId is null || !known.Contains(l.ParentId)).ToList();
        var now = time.GetUtcNow();
        var counts = $"{lines.Count(l => l.State == StepEvent.Started)} running, {lines.Count(l => l.State is StepEvent.Succeeded)} done, {lines.Count(l => l.State == StepEvent.Failed)} failed";
        return new Rows([new Markup($"[bold]steps[/] [grey]({counts})[/]"), .. roots.Select(r => Node(r, children, now, 0))]);
    }

    private static IRenderable Node(Line line, Dictionary<string, List<Line>> children, DateTimeOffset now, int depth)
    {
        var self = new Markup(new string(' ', depth * 2) + Describe(line, now));
        if (!children.TryGetValue(line.Id, out var kids))
        {
            return self;
        }

        // A parallel step's branches go side by side, each in its own column.
        if (line.Kind == "parallel")
        {
            var branches = kids.Select(k => (IRenderable)new Panel(Node(k, children, now, 0)).Border(BoxBorder.Rounded).Expand());
            return new Rows(self, new Padder(new Columns(branches).Expand(), new Padding(depth * 2 + 2, 0, 0, 0)));
        }

        return new Rows([self, .. kids.Select(k => Node(k, children, now, depth + 1))]);
    }

    private static string Describe(Line line, DateTimeOffset now)
    {
        var elapsed = ((line.EndedAt ?? now) - line.StartedAt).TotalMilliseconds;
        var ms = elapsed >= 1000 ? (elapsed / 1000).ToString("0.0", CultureInfo.InvariantCulture) + " s" : elapsed.ToString("0", CultureInfo.InvariantCulture) + " ms";
        var name = Markup.Escape(line.Name) + (line.Agent is null ? "" : $" [grey]({Markup.Escape(line.Agent)})[/]");
        return line.State switch
        {
            StepEvent.Started => $"[yellow]…[/] {name} [grey]{ms}[/]",
            StepEvent.Succeeded => $"[green]✓[/] {name} [grey]{ms}[/]",
            StepEvent.Degraded => $"[olive]~[/] {name} [grey]{ms}[/] [olive]{Markup.Escape(Short(line.Error))}[/]",
            StepEvent.Compensated => $"[blue]↺[/] {name} [grey]compensated[/]",
            _ => $"[red]✗[/] {name} [grey]{ms}[/] [red]{Markup.Escape(Short(line.Error))}[/]",
        };
    }

    private static string Short(string? error) => error is null ? "" : error.Length <= 80 ? error : error[..77] + "...";

    private sealed record Line(string Id, string? ParentId, string Name, string Kind, string? Agent, StepEvent State, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, string? Error);
}
