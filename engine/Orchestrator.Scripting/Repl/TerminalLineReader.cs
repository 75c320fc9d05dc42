using System.Text;

namespace Orchestrator.Scripting.Repl;

/// <summary>
/// Line editing at a terminal: a prompt, the cursor keys, Home/End, Backspace/Delete, Up/Down to recall
/// earlier submissions (of this session and the ones before, from <see cref="ReplHistory"/>), and Tab to complete
/// the word before the cursor (one candidate: inserted; several: their common start, else listed). Ctrl+D on an
/// empty line ends the input. With <see cref="Colours"/>, the line is redrawn highlighted as the language classifies it.
/// Keys come from the console, or from <paramref name="readKey"/> in tests.
/// </summary>
internal sealed class TerminalLineReader(ReplHistory history, TextWriter output, Func<ConsoleKeyInfo>? readKey = null) : ILineReader
{
    /// <summary>Candidates listed at most when Tab finds several.</summary>
    private const int Listed = 30;

    public Func<string, int, CancellationToken, Task<IReadOnlyList<string>>>? Completer { get; set; }

    public Func<string, CancellationToken, Task<IReadOnlyList<ClassifiedSpan>>>? Classifier { get; set; }

    /// <summary>Whether the terminal may be coloured (see <see cref="SyntaxHighlighting.Allowed"/>).</summary>
    public bool Colours { get; init; }

    // ReadKey blocks; keep it off the caller's thread (the JavaScript session calls from its own loop's tasks).
    public Task<string?> ReadLineAsync(string prompt, CancellationToken cancellationToken) =>
        Task.Run(() => ReadLine(prompt), cancellationToken);

    private string? ReadLine(string prompt)
    {
        var line = new StringBuilder();
        var cursor = 0;
        var recalled = history.Entries.Count;
        output.Write(prompt);
        output.Flush();
        while (true)
        {
            var key = readKey?.Invoke() ?? Console.ReadKey(intercept: true);
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    output.WriteLine();
                    return line.ToString();
                case ConsoleKey.D when key.Modifiers.HasFlag(ConsoleModifiers.Control) && line.Length == 0:
                    output.WriteLine();
                    return null;
                case ConsoleKey.Backspace when cursor > 0:
                    line.Remove(--cursor, 1);
                    break;
                case ConsoleKey.Delete when cursor < line.Length:
                    line.Remove(cursor, 1);
                    break;
                case ConsoleKey.LeftArrow when cursor > 0:
                    cursor--;
                    break;
                case ConsoleKey.RightArrow when cursor < line.Length:
                    cursor++;
                    break;
                case ConsoleKey.Home:
                    cursor = 0;
                    break;
                case ConsoleKey.End:
                    cursor = line.Length;
                    break;
                case ConsoleKey.UpArrow when recalled > 0:
                    Recall(line, --recalled, out cursor);
                    break;
                case ConsoleKey.DownArrow when recalled < history.Entries.Count:
                    Recall(line, ++recalled, out cursor);
                    break;
                case ConsoleKey.Tab when Completer is not null:
                    cursor = Complete(prompt, line, cursor);
                    break;
                default:
                    if (!char.IsControl(key.KeyChar))
                    {
                        line.Insert(cursor++, key.KeyChar);
                    }

                    break;
            }

            Redraw(prompt, line, cursor);
        }
    }

    private int Complete(string prompt, StringBuilder line, int cursor)
    {
        IReadOnlyList<string> candidates;
        try
        {
            candidates = Completer!(line.ToString(), cursor, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Completion is a convenience: a failure of it costs the Tab, never the session.
            return cursor;
        }

        var word = CSharpCompletion.WordBefore(line.ToString(), cursor);
        var common = candidates.Count == 0 ? word : candidates.Aggregate((a, b) => a[..CommonLength(a, b)]);
        if (common.Length > word.Length || (candidates.Count == 1 && !string.Equals(common, word, StringComparison.Ordinal)))
        {
            line.Remove(cursor - word.Length, word.Length).Insert(cursor - word.Length, common);
            return cursor - word.Length + common.Length;
        }

        if (candidates.Count > 1)
        {
            output.WriteLine();
            output.WriteLine(string.Join("  ", candidates.Take(Listed)) + (candidates.Count > Listed ? $"  … ({candidates.Count - Listed} more)" : ""));
            output.Write(prompt);
        }

        return cursor;
    }

    private string Highlight(string line)
    {
        if (!Colours || Classifier is null || line.Length == 0)
        {
            return line;
        }

        try
        {
            return SyntaxHighlighting.Render(line, Classifier(line, CancellationToken.None).GetAwaiter().GetResult());
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Colour is a convenience: a failure of it shows the line plain.
            return line;
        }
    }

    private static int CommonLength(string a, string b)
    {
        var length = 0;
        while (length < a.Length && length < b.Length && char.ToLowerInvariant(a[length]) == char.ToLowerInvariant(b[length]))
        {
            length++;
        }

        return length;
    }

    private void Recall(StringBuilder line, int index, out int cursor)
    {
        line.Clear();

        // A recalled multi-line submission is edited as one line; C# and JavaScript read it the same.
        line.Append(index < history.Entries.Count ? history.Entries[index].ReplaceLineEndings(" ") : "");
        cursor = line.Length;
    }

    private void Redraw(string prompt, StringBuilder line, int cursor)
    {
        // Back to the line's start, print it, clear what an older, longer text left, put the cursor back.
        output.Write("\r" + prompt + Highlight(line.ToString()) + "\u001b[K");
        var back = line.Length - cursor;
        if (back > 0)
        {
            output.Write($"\u001b[{back}D");
        }

        output.Flush();
    }
}
