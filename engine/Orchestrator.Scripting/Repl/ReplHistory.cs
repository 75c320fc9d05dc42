using System.Text.Json;

namespace Orchestrator.Scripting.Repl;

/// <summary>
/// The submissions of this and earlier sessions, oldest first: what the arrow keys recall at a terminal and
/// <c>#history</c> lists. Kept in a file (one JSON string per line, so multi-line submissions survive).
/// </summary>
internal sealed class ReplHistory
{
    private const int Limit = 500;
    private readonly string? _path;
    private readonly List<string> _entries = [];

    public ReplHistory(string? path)
    {
        _path = path;
        if (path is not null && File.Exists(path))
        {
            foreach (var line in File.ReadLines(path))
            {
                try
                {
                    if (JsonSerializer.Deserialize<string>(line) is { Length: > 0 } entry)
                    {
                        _entries.Add(entry);
                    }
                }
                catch (JsonException)
                {
                    // A damaged line costs one entry, never the session.
                }
            }

            _entries.RemoveRange(0, Math.Max(0, _entries.Count - Limit));
        }
    }

    public IReadOnlyList<string> Entries => _entries;

    public void Add(string submission)
    {
        if (_entries.Count > 0 && _entries[^1] == submission)
        {
            return;
        }

        _entries.Add(submission);
        if (_path is null)
        {
            return;
        }

        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            if (_entries.Count > Limit * 2)
            {
                _entries.RemoveRange(0, _entries.Count - Limit);
                File.WriteAllLines(_path, _entries.Select(e => JsonSerializer.Serialize(e)));
            }
            else
            {
                File.AppendAllLines(_path, [JsonSerializer.Serialize(submission)]);
            }
        }
        catch (IOException)
        {
            // History is a convenience: a read-only store must not stop the session.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
