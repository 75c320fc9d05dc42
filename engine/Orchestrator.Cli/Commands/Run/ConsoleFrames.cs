using System.Globalization;

namespace Orchestrator.Cli.Commands.Run;

/// <summary>
/// What a host sends a client whose run it renders (<c>POST /api/console/run</c> and <c>/resume</c>): the text the
/// CLI would print, as frames of a header line <c>KIND LENGTH</c> and then LENGTH characters. Kinds: <c>o</c> standard
/// output, <c>e</c> standard error, <c>r</c> the run's id (for Ctrl+C), <c>x</c> the exit code, always last.
/// Shared with the native launcher, so it uses nothing but the base library.
/// </summary>
internal static class ConsoleFrames
{
    public const string ContentType = "application/vnd.orchestrator.console";

    public const char Out = 'o';
    public const char Error = 'e';
    public const char Run = 'r';
    public const char Exit = 'x';

    public static string Encode(char kind, string text) =>
        string.Create(CultureInfo.InvariantCulture, $"{kind} {text.Length}\n{text}");

    /// <summary>What a client says when the frames stop before the exit code.</summary>
    public static string BrokenOff(Uri host, string? runId) =>
        runId is null
            ? $"the host at {host} closed the connection before the run started"
            : $"the host at {host} closed run {runId}'s output before its end; see 'orchestrator runs show {runId}'";

    /// <summary>The next frame; null at the end of the stream, or where it breaks off.</summary>
    public static (char Kind, string Text)? Read(TextReader reader)
    {
        var header = reader.ReadLine();
        if (header is not { Length: >= 3 } || header[1] != ' '
            || !int.TryParse(header.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            return null;
        }

        var text = new char[length];
        return reader.ReadBlock(text, 0, length) == length ? (header[0], new string(text)) : null;
    }
}
