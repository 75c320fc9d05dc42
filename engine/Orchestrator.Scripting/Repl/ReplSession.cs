using System.Text;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Scripting.Repl;

/// <summary>
/// The read-eval-print loop, whatever the language: read lines until the submission is complete, run it,
/// print its value or its error, and go on. Lines starting with a meta-command (<c>#help</c>, <c>#load</c> …)
/// are the session's own, also in the middle of a submission (the submission goes on after it). A C# statement
/// that only lacks its <c>;</c> gets a hint saying so instead of a silent <c>*</c> prompt. <see cref="Interrupt"/> (Ctrl+C) cancels the
/// running submission, not the session. The session counts the submissions that failed: its run ends failed if any did.
/// </summary>
internal sealed class ReplSession(ILineReader input, TextWriter output, ReplHistory history)
{
    /// <summary>What a submission is called in error messages (the run's script name too).</summary>
    public const string SourceName = "repl";

    private readonly Lock _gate = new();
    private CancellationTokenSource? _running;

    public ReplHistory History { get; } = history;

    public TextWriter Output { get; } = output;

    /// <summary>The live step view shown while a submission runs (at a terminal), or null.</summary>
    public ReplStepView? Steps { get; init; }

    /// <summary>Submissions run so far, and how many of them ended in an error.</summary>
    public (int Run, int Failed) Submissions { get; private set; }

    /// <summary>Cancels the running submission; between submissions, says how to leave.</summary>
    public void Interrupt()
    {
        lock (_gate)
        {
            if (_running is { } running)
            {
                running.Cancel();
                return;
            }
        }

        Output.WriteLine("(Ctrl+C cancels a running submission; #exit or Ctrl+D leaves)");
    }

    /// <summary>Runs the session until the input ends, <c>#exit</c>, or the run is cancelled.</summary>
    public async Task RunAsync(IReplLanguage language, WorkflowScope root, CancellationToken cancellationToken)
    {
        Output.WriteLine($"orchestrator repl ({language.Name}), run {root.RunId}. #help for help, #exit to leave.");
        var buffer = new StringBuilder();

        // Tab completes within the whole submission so far: the lines already entered, then this one.
        input.Completer = (line, position, ct) => language.CompleteAsync(buffer + line, buffer.Length + position, ct);
        input.Classifier = language.ClassifyAsync;
        while (!cancellationToken.IsCancellationRequested)
        {
            var line = await input.ReadLineAsync(buffer.Length == 0 ? "> " : "* ", cancellationToken).ConfigureAwait(false);
            if (line is null)
            {
                if (buffer.Length > 0)
                {
                    // The input ended inside a statement: run it, so that its syntax error is shown rather than lost.
                    await SubmitAsync(language, buffer.ToString(), SourceName, cancellationToken).ConfigureAwait(false);
                }

                break;
            }

            if (MetaCommands.Find(line) is { } meta)
            {
                if (!await meta.Command.ExecuteAsync(new MetaContext(this, language, root, meta.Argument), cancellationToken).ConfigureAwait(false))
                {
                    break;
                }

                continue;
            }

            buffer.AppendLine(line);
            var code = buffer.ToString();
            if (string.IsNullOrWhiteSpace(code))
            {
                buffer.Clear();
                continue;
            }

            if (!language.IsComplete(code))
            {
                if (language.Hint(code) is { } hint)
                {
                    Output.WriteLine($"({hint})");
                }

                continue;
            }

            buffer.Clear();
            History.Add(code.TrimEnd());
            await SubmitAsync(language, code, SourceName, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs one submission, cancellable on its own, and prints what it gave.</summary>
    public async Task SubmitAsync(IReplLanguage language, string code, string source, CancellationToken cancellationToken)
    {
        using var running = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        lock (_gate)
        {
            _running = running;
        }

        try
        {
            ReplOutput result;
            using (Steps?.Show())
            {
                result = await language.EvaluateAsync(code, source, running.Token).ConfigureAwait(false);
            }

            Submissions = (Submissions.Run + 1, Submissions.Failed + (result.Error is null ? 0 : 1));
            if (result.Error is not null)
            {
                Output.WriteLine("error: " + result.Error);
            }
            else if (result.Value is not null)
            {
                Output.WriteLine(result.Value);
            }
        }
        catch (OperationCanceledException) when (running.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Submissions = (Submissions.Run + 1, Submissions.Failed);
            Output.WriteLine("cancelled");
        }
        finally
        {
            lock (_gate)
            {
                _running = null;
            }
        }
    }
}
