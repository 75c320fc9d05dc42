using System.Globalization;
using System.Text.Json.Nodes;

namespace Orchestrator.Agents.Llm;

/// <summary>
/// What the engine told the agent about each run (a phase's strategy change), so that later requests of that run carry
/// it to the model as a system note. Bounded: the last few notes of the most recent runs; a run's notes go when it is cancelled.
/// </summary>
internal sealed class RunNotes
{
    internal const int MaxRuns = 256;
    internal const int MaxNotesPerRun = 5;

    private readonly Dictionary<string, List<string>> _notes = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    /// <summary>The note for a strategy-changed payload: <c>{ phase, from: { name }, to: { name }, score }</c>.</summary>
    public static string StrategyChange(JsonNode? payload)
    {
        var phase = payload?["phase"]?.ToString() ?? "?";
        var from = payload?["from"]?["name"]?.ToString() ?? "?";
        var to = payload?["to"]?["name"]?.ToString() ?? "?";
        var score = payload?["score"] is JsonValue s && s.TryGetValue<double>(out var value) ? value.ToString("0.###", CultureInfo.InvariantCulture) : "?";
        return $"Note from the orchestrator: phase '{phase}' switched from strategy '{from}' to '{to}' (its effectiveness was {score}); work under the new strategy.";
    }

    public void Add(string runId, string note)
    {
        lock (_notes)
        {
            if (!_notes.TryGetValue(runId, out var list))
            {
                if (_order.Count == MaxRuns)
                {
                    _notes.Remove(_order.Dequeue());
                }

                _order.Enqueue(runId);
                _notes[runId] = list = [];
            }

            if (list.Count == MaxNotesPerRun)
            {
                list.RemoveAt(0);
            }

            list.Add(note);
        }
    }

    /// <summary>The run's notes as one system message, or null.</summary>
    public string? For(string runId)
    {
        lock (_notes)
        {
            return _notes.TryGetValue(runId, out var list) && list.Count > 0 ? string.Join("\n", list) : null;
        }
    }

    public void Forget(string runId)
    {
        lock (_notes)
        {
            // Emptied, not removed: the run keeps its one place in the eviction order.
            if (_notes.TryGetValue(runId, out var list))
            {
                list.Clear();
            }
        }
    }
}
