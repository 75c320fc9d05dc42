using System.Text;

namespace Orchestrator.Scripting.Repl;

/// <summary>
/// Line editing at a terminal: a prompt, the cursor keys, Home/End, Backspace/Delete, and Up/Down to recall
/// earlier submissions (of this session and the ones before, from <see cref="ReplHistory"/>). Ctrl+D on an
/// empty line ends the input.
/// </summary>
internal sealed class TerminalLineReader(ReplHistory history, TextWriter output) : ILineReader
{
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
            var key = Console.ReadKey(intercept: true);
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
        output.Write("\r" + prompt + line + "\u001b[K");
        var back = line.Length - cursor;
        if (back > 0)
        {
            output.Write($"\u001b[{back}D");
        }

        output.Flush();
    }
}
