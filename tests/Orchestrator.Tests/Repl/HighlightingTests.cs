using System.Text;
using Orchestrator.Scripting.Repl;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Repl;

/// <summary>Syntax highlighting of the REPL's input line: C# by Roslyn's classification, JavaScript by its keywords, strings and numbers.</summary>
public sealed class HighlightingTests
{
    [Fact]
    public async Task CSharp_is_classified_by_Roslyn_including_the_DSL_verbs()
    {
        const string line = "var r = await Agent(\"shell\").RunAsync(42); // go";

        var roslyn = new CSharpCompletion();
        (await roslyn.ClassifyAsync("", line, CancellationToken.None)).Should().BeEmpty("the first call only starts making the workspace");
        await roslyn.CompleteAsync("", "Ag", 2, CancellationToken.None);

        var spans = await roslyn.ClassifyAsync("", line, CancellationToken.None);

        Pieces(line, spans).Should().Contain([
            ("var", TokenKind.Keyword), ("await", TokenKind.Keyword), ("Agent", TokenKind.Method), ("\"shell\"", TokenKind.String),
            ("RunAsync", TokenKind.Method), ("42", TokenKind.Number), ("// go", TokenKind.Comment)]);
    }

    [Fact]
    public void JavaScript_keywords_strings_numbers_and_comments_are_classified()
    {
        const string line = "const n = await step(\"s\", () => 1.5e3); // why";

        Pieces(line, JavaScriptHighlighter.Classify(line)).Should().Equal(
            ("const", TokenKind.Keyword), ("await", TokenKind.Keyword), ("\"s\"", TokenKind.String), ("1.5e3", TokenKind.Number), ("// why", TokenKind.Comment));
    }

    [Fact]
    public void A_string_still_being_typed_is_a_string_to_the_end_of_the_line()
    {
        const string line = "log(`hello ${name";

        Pieces(line, JavaScriptHighlighter.Classify(line)).Should().Equal(("`hello ${name", TokenKind.String));
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task The_terminal_line_is_coloured_only_when_colour_is_allowed(bool colours, bool plain)
    {
        using var dir = new TempDirectory();
        var keys = new Queue<ConsoleKeyInfo>("let x = 1".Select(c => new ConsoleKeyInfo(c, ConsoleKey.NoName, false, false, false)));
        keys.Enqueue(new ConsoleKeyInfo('\r', ConsoleKey.Enter, false, false, false));
        var screen = new StringWriter(new StringBuilder());
        var reader = new TerminalLineReader(new ReplHistory(Path.Combine(dir.Path, "history")), screen, keys.Dequeue)
        {
            Colours = colours,
            Classifier = (line, _) => Task.FromResult(JavaScriptHighlighter.Classify(line)),
        };

        var line = await reader.ReadLineAsync("> ", CancellationToken.None);

        line.Should().Be("let x = 1");
        screen.ToString().Contains("\r> \u001b[35mlet\u001b[0m x = \u001b[32m1\u001b[0m\u001b[K", StringComparison.Ordinal).Should().Be(colours);
        screen.ToString().Contains("\r> let x = 1\u001b[K", StringComparison.Ordinal).Should().Be(plain);
    }

    [Theory]
    [InlineData(null, null, false, true)]
    [InlineData("1", null, false, false)]
    [InlineData(null, "dumb", false, false)]
    [InlineData(null, "xterm-256color", true, false)]
    public void Colour_is_allowed_at_an_interactive_terminal_without_NO_COLOR(string? noColor, string? term, bool redirected, bool allowed)
    {
        string? Environment(string name) => name switch { "NO_COLOR" => noColor, "TERM" => term, _ => null };

        SyntaxHighlighting.Allowed(Environment, redirected).Should().Be(allowed);
    }

    private static List<(string, TokenKind)> Pieces(string line, IReadOnlyList<ClassifiedSpan> spans) =>
        [.. spans.OrderBy(s => s.Start).Select(s => (line.Substring(s.Start, s.Length), s.Kind))];
}
