namespace Orchestrator.Scripting.Repl;

/// <summary>Where the REPL reads its lines: piped standard input, or a terminal with line editing and history.</summary>
internal interface ILineReader
{
    /// <summary>The next line, or null at the end of input (end of the pipe, Ctrl+D).</summary>
    Task<string?> ReadLineAsync(string prompt, CancellationToken cancellationToken);

    /// <summary>What Tab completes from: given the line so far and the cursor, the candidates (a terminal uses it; a pipe has no Tab).</summary>
    Func<string, int, CancellationToken, Task<IReadOnlyList<string>>>? Completer { get; set; }

    /// <summary>What colours the input line (a terminal that allows colour uses it).</summary>
    Func<string, CancellationToken, Task<IReadOnlyList<ClassifiedSpan>>>? Classifier { get; set; }
}

/// <summary>Lines from a pipe or a file: no prompt, no echo, so the output is only what the session prints.</summary>
internal sealed class TextLineReader(TextReader reader) : ILineReader
{
    public Func<string, int, CancellationToken, Task<IReadOnlyList<string>>>? Completer { get; set; }

    public Func<string, CancellationToken, Task<IReadOnlyList<ClassifiedSpan>>>? Classifier { get; set; }

    // Console.In reads synchronously whatever the method's name: read on the pool, so that the caller can stop waiting.
    public Task<string?> ReadLineAsync(string prompt, CancellationToken cancellationToken) =>
        Task.Run(reader.ReadLine, CancellationToken.None).WaitAsync(cancellationToken);
}
