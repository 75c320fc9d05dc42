namespace Orchestrator.Cli.Hosting;

/// <summary>Plain, aligned columns: readable at a terminal and easy to grep when piped.</summary>
internal static class TextTable
{
    public static void Write(CliConsole console, IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var widths = headers.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        console.Line(Format(headers, widths));
        foreach (var row in rows)
        {
            console.Line(Format(row, widths));
        }
    }

    private static string Format(IReadOnlyList<string> cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c.PadRight(widths[i]))).TrimEnd();
}
