using System.Globalization;
using System.Text;

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

    /// <summary>The longest frame: longer text goes in several, so a reader never holds more than this at once.</summary>
    public const int MaxLength = 1 << 20;

    /// <summary>The frames of <paramref name="text"/>: one, or several of at most <see cref="MaxLength"/> characters.</summary>
    public static string Encode(char kind, string text)
    {
        if (text.Length <= MaxLength)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{kind} {text.Length}\n{text}");
        }

        var frames = new StringBuilder(text.Length + 16 * (text.Length / MaxLength + 1));
        for (var start = 0; start < text.Length; start += MaxLength)
        {
            var piece = text.AsSpan(start, Math.Min(MaxLength, text.Length - start));
            frames.Append(kind).Append(' ').Append(piece.Length.ToString(CultureInfo.InvariantCulture)).Append('\n').Append(piece);
        }

        return frames.ToString();
    }

    /// <summary>What a client says when the frames stop before the exit code.</summary>
    public static string BrokenOff(Uri host, string? runId) =>
        runId is null
            ? $"the host at {host} closed the connection before the run started"
            : $"the host at {host} closed run {runId}'s output before its end; see 'orchestrator runs show {runId}'";

    /// <summary>
    /// Writes each frame's text where it goes, up to the exit code, which it returns; null when the stream ends or breaks
    /// off first. <paramref name="onRun"/> hears the run's id once the host has started it.
    /// </summary>
    public static int? Relay(TextReader reader, TextWriter stdout, TextWriter stderr, Action<string> onRun)
    {
        try
        {
            while (Read(reader) is { } frame)
            {
                switch (frame.Kind)
                {
                    case Out:
                        stdout.Write(frame.Text);
                        break;
                    case Error:
                        stderr.Write(frame.Text);
                        break;
                    case Run:
                        onRun(frame.Text);
                        break;
                    case Exit:
                        return int.TryParse(frame.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code) ? code : null;
                }
            }
        }
        catch (IOException)
        {
            // A broken connection is a stream that ended early: the caller says so, with where to look.
        }
        finally
        {
            stdout.Flush();
        }

        return null;
    }

    /// <summary>The next frame; null at the end of the stream, where it breaks off, or at what is not a frame.</summary>
    public static (char Kind, string Text)? Read(TextReader reader)
    {
        var header = reader.ReadLine();
        if (header is not { Length: >= 3 } || header[1] != ' '
            || !int.TryParse(header.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length > MaxLength)
        {
            return null;
        }

        var text = new char[length];
        return reader.ReadBlock(text, 0, length) == length ? (header[0], new string(text)) : null;
    }
}
