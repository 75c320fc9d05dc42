namespace Orchestrator.Scripting.Repl;

/// <summary>A language the REPL evaluates submissions in, keeping state from one submission to the next.</summary>
internal interface IReplLanguage
{
    /// <summary>C# or JavaScript, for the banner and the help.</summary>
    string Name { get; }

    /// <summary>False while the code so far is a statement left open (a brace, a parenthesis, an operator): the REPL then reads another line.</summary>
    bool IsComplete(string code);

    /// <summary>For unfinished <paramref name="code"/> that is one token short of complete (a C# statement without its <c>;</c>), what is missing; else null.</summary>
    string? Hint(string code) => null;

    /// <summary>Tab completion: the words that can stand where the identifier ending at <paramref name="position"/> of <paramref name="code"/> is.</summary>
    Task<IReadOnlyList<string>> CompleteAsync(string code, int position, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<string>>([]);

    /// <summary>Syntax highlighting: the classified pieces of the input <paramref name="line"/>.</summary>
    Task<IReadOnlyList<ClassifiedSpan>> ClassifyAsync(string line, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<ClassifiedSpan>>([]);

    /// <summary>Runs one submission; <paramref name="source"/> names it in error messages (<c>repl</c> or a loaded file's path).</summary>
    Task<ReplOutput> EvaluateAsync(string code, string source, CancellationToken cancellationToken);

    /// <summary>Forgets every variable and function the submissions defined.</summary>
    void Reset();
}

/// <summary>What a submission printed: a value (null for a statement), or an error that names the line.</summary>
internal sealed record ReplOutput(string? Value, string? Error)
{
    public static ReplOutput Nothing { get; } = new(null, null);

    public static ReplOutput Failure(string error) => new(null, error);
}
