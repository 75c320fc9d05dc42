using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.Scripting.Repl;

/// <summary>What a piece of the input line is, for its colour.</summary>
internal enum TokenKind
{
    Keyword,
    String,
    Number,
    Comment,
    Type,
    Method,
}

/// <summary>A classified piece of the input line.</summary>
internal readonly record struct ClassifiedSpan(int Start, int Length, TokenKind Kind);

/// <summary>Colours the input line at a terminal: the spans a language classified, as ANSI colour codes.</summary>
internal static class SyntaxHighlighting
{
    private const string Reset = "\u001b[0m";

    /// <summary>
    /// Whether the terminal may be coloured: an interactive terminal, no <c>NO_COLOR</c> (no-color.org: any non-empty
    /// value turns colour off), and not a terminal that says it is dumb.
    /// </summary>
    public static bool Allowed(Func<string, string?> environment, bool outputRedirected) =>
        !outputRedirected
        && string.IsNullOrEmpty(environment("NO_COLOR"))
        && !string.Equals(environment("TERM"), "dumb", StringComparison.Ordinal);

    /// <summary><paramref name="line"/> with each classified span in its colour; spans that overlap or overrun are skipped.</summary>
    public static string Render(string line, IReadOnlyList<ClassifiedSpan> spans)
    {
        var text = new StringBuilder();
        var at = 0;
        foreach (var span in spans.OrderBy(s => s.Start))
        {
            if (span.Start < at || span.Start + span.Length > line.Length || span.Length == 0)
            {
                continue;
            }

            text.Append(line, at, span.Start - at).Append(Colour(span.Kind)).Append(line, span.Start, span.Length).Append(Reset);
            at = span.Start + span.Length;
        }

        return text.Append(line, at, line.Length - at).ToString();
    }

    private static string Colour(TokenKind kind) => kind switch
    {
        TokenKind.Keyword => "\u001b[35m",
        TokenKind.String => "\u001b[33m",
        TokenKind.Number => "\u001b[32m",
        TokenKind.Comment => "\u001b[90m",
        TokenKind.Type => "\u001b[36m",
        _ => "\u001b[93m",
    };
}

/// <summary>JavaScript's input line, classified simply: keywords, strings, numbers and comments.</summary>
internal static partial class JavaScriptHighlighter
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "async", "await", "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete", "do",
        "else", "export", "extends", "false", "finally", "for", "function", "if", "import", "in", "instanceof", "let",
        "new", "null", "of", "return", "static", "super", "switch", "this", "throw", "true", "try", "typeof",
        "undefined", "var", "void", "while", "with", "yield",
    };

    public static IReadOnlyList<ClassifiedSpan> Classify(string line)
    {
        var spans = new List<ClassifiedSpan>();
        foreach (Match token in Token().Matches(line))
        {
            var kind = token.Groups["comment"].Success ? TokenKind.Comment
                : token.Groups["string"].Success ? TokenKind.String
                : token.Groups["number"].Success ? TokenKind.Number
                : Keywords.Contains(token.Value) ? TokenKind.Keyword
                : (TokenKind?)null;
            if (kind is { } k)
            {
                spans.Add(new ClassifiedSpan(token.Index, token.Length, k));
            }
        }

        return spans;
    }

    // An unclosed string or template runs to the end of the line, as it does while it is being typed.
    [GeneratedRegex("""(?<comment>//.*$)|(?<string>"(?:\\.|[^"\\])*"?|'(?:\\.|[^'\\])*'?|`(?:\\.|[^`\\])*`?)|(?<number>\b\d[\d_]*(?:\.\d+)?(?:e[+-]?\d+)?n?\b)|[A-Za-z_$][\w$]*""")]
    private static partial Regex Token();
}
