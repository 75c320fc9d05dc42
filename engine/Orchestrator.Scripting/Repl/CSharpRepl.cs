using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using Orchestrator.Scripting.CSharp;

namespace Orchestrator.Scripting.Repl;

/// <summary>
/// C# submissions over the workflow globals, chained with Roslyn's <c>ContinueWithAsync</c> so that each sees
/// what the ones before defined. Unlike a workflow, submissions load into the default context: a session is
/// one process's interactive work, not a host running thousands of scripts.
/// </summary>
internal sealed class CSharpRepl(WorkflowGlobals globals, string directory, string packagesFolder) : IReplLanguage
{
    private static readonly CSharpParseOptions ParseOptions = CSharpParseOptions.Default.WithKind(SourceCodeKind.Script);

    private ScriptOptions _options = CSharpCompiler.DefaultOptions(directory);
    private readonly CSharpCompletion _completion = new();
    private readonly System.Text.StringBuilder _submitted = new();
    private ScriptState<object>? _state;

    public string Name => "C#";

    public bool IsComplete(string code) =>
        SyntaxFactory.IsCompleteSubmission(SyntaxFactory.ParseSyntaxTree(code, ParseOptions));

    public Task<IReadOnlyList<string>> CompleteAsync(string code, int position, CancellationToken cancellationToken) =>
        _completion.CompleteAsync(_submitted.ToString(), code, position, cancellationToken);

    public Task<IReadOnlyList<ClassifiedSpan>> ClassifyAsync(string line, CancellationToken cancellationToken) =>
        _completion.ClassifyAsync(_submitted.ToString(), line, cancellationToken);

    public string? Hint(string code) =>
        !code.TrimEnd().EndsWith(';') && IsComplete(code.TrimEnd() + ";") && !SyntaxFactory.ParseSyntaxTree(code.TrimEnd() + ";", ParseOptions).GetDiagnostics().Any()
            ? "';' expected: the statement goes on until it ends with ';'"
            : null;

    public async Task<ReplOutput> EvaluateAsync(string code, string source, CancellationToken cancellationToken)
    {
        // The verbs of this submission are cancelled with it (Ctrl+C), not with the session.
        globals.CancellationToken = cancellationToken;
        ScriptState<object> state;
        try
        {
            // #r "nuget: …" in a submission: its packages are restored now and stay referenced for the rest of the session.
            var packages = Packages.PackageReferenceResolver.Restore([SyntaxFactory.ParseSyntaxTree(code, ParseOptions, Path.GetFullPath(source, directory), cancellationToken: cancellationToken)], packagesFolder, cancellationToken);
            if (packages.Count > 0)
            {
                _options = _options.AddReferences(packages);
            }

            var options = _options.WithFilePath(source);
            var run = _state is null
                ? CSharpScript.Create<object>(code, options, typeof(WorkflowGlobals)).RunAsync(globals, _ => true, cancellationToken)
                : _state.ContinueWithAsync<object>(code, options, _ => true, cancellationToken);

            // A submission that ignores its token is left behind; the session goes on from the state before it.
            state = await run.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (CompilationErrorException ex)
        {
            return ReplOutput.Failure(Describe(ex.Diagnostics));
        }
        catch (ScriptCompilationException ex)
        {
            return ReplOutput.Failure(ex.Message);
        }

        // A submission that failed still defined its variables: keep them, as a script would.
        _state = state;
        _submitted.AppendLine(code);
        if (state.Exception is { } error)
        {
            if (error is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("the submission was cancelled", error, cancellationToken);
            }

            // Roslyn records the submission's file name as a path from the session's folder.
            var recorded = Path.GetFullPath(source, directory);
            return ReplOutput.Failure(source + ScriptFailure.Describe(error, recorded)[recorded.Length..]);
        }

        return EndsWithExpression(code) || state.ReturnValue is not null
            ? new ReplOutput(Display(state.ReturnValue), null)
            : ReplOutput.Nothing;
    }

    public void Reset()
    {
        _state = null;
        _submitted.Clear();
    }

    /// <summary>A final expression without a semicolon is the submission's value, printed even when null.</summary>
    private static bool EndsWithExpression(string code) =>
        SyntaxFactory.ParseSyntaxTree(code, ParseOptions).GetCompilationUnitRoot().Members.LastOrDefault()
            is Microsoft.CodeAnalysis.CSharp.Syntax.GlobalStatementSyntax { Statement: Microsoft.CodeAnalysis.CSharp.Syntax.ExpressionStatementSyntax { SemicolonToken.IsMissing: true } };

    private string Display(object? value)
    {
        try
        {
            return ReplDisplay.Json(globals.Json(value));
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or ArgumentException)
        {
            // Not JSON (a delegate, a type with cycles): what the value says of itself.
            return value?.ToString() ?? "null";
        }
    }

    private static string Describe(ImmutableArray<Diagnostic> diagnostics) =>
        string.Join(Environment.NewLine, diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()));
}
