using System.Text.Json.Nodes;
using Acornima;
using Jint;
using Jint.Native;
using Jint.Runtime;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.Repl;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// A REPL session on the run's engine: the session script waits on one step, the session itself, while each
/// submission is a turn of the same event loop, so promises, steps and scopes behave as in a workflow.
/// </summary>
internal sealed partial class JavaScriptRun : IReplLanguage
{
    private readonly ReplSession? _session;
    private readonly HashSet<string> _declared = new(StringComparer.Ordinal);

    public JavaScriptRun(JavaScriptWorkflow program, WorkflowScope root, ReplSession session, CancellationToken cancellation)
        : this(program, root, cancellation)
    {
        _session = session;
    }

    public string Name => "JavaScript";

    public bool IsComplete(string code) => JavaScriptSubmission.IsComplete(code);

    public Task<IReadOnlyList<string>> CompleteAsync(string code, int position, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<IReadOnlyList<string>>(TaskCreationOptions.RunContinuationsAsynchronously);

        // The engine is read on its own thread, between submissions' turns.
        if (!TryPost(_top, () =>
            {
                try
                {
                    done.TrySetResult(JavaScriptCompletion.Complete(code, position, Js.Global, Js.Intrinsics.Object.PrototypeObject));
                }
                catch (JintException)
                {
                    // Completion is a convenience: a failure of it costs the Tab, never the session.
                    done.TrySetResult([]);
                }
            }))
        {
            done.TrySetResult([]);
        }

        return done.Task.WaitAsync(cancellationToken);
    }

    public Task<IReadOnlyList<ClassifiedSpan>> ClassifyAsync(string line, CancellationToken cancellationToken) =>
        Task.FromResult(JavaScriptHighlighter.Classify(line));

    public Task<ReplOutput> EvaluateAsync(string code, string source, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<ReplOutput>(TaskCreationOptions.RunContinuationsAsynchronously);

        // The submission's steps are cancelled with it (Ctrl+C), not with the session.
        if (!TryPost(new ScopeFrame(_root, cancellationToken), () => Submit(code, source, done)))
        {
            done.TrySetResult(ReplOutput.Failure("the session has ended"));
        }

        return done.Task.WaitAsync(cancellationToken);
    }

    public void Reset() =>
        TryPost(_top, () =>
        {
            // Globals the submissions declared were made as plain properties of the global object, so they can go.
            foreach (var name in _declared)
            {
                Js.Global.Delete(name);
            }

            _declared.Clear();
        });

    private void InstallSession(Engine engine)
    {
        if (_session is not { } session)
        {
            return;
        }

        // Read lines off the loop thread: the loop must stay free to run the submissions.
        engine.SetValue(JavaScriptWorkflow.SessionFunction, Function(JavaScriptWorkflow.SessionFunction, (_, _) => Start(_top, async () =>
        {
            await Task.Run(() => session.RunAsync(this, _root, _stopToken)).ConfigureAwait(false);
            return (JsonNode?)null;
        }), 0));
    }

    private void Submit(string code, string source, TaskCompletionSource<ReplOutput> done)
    {
        try
        {
            JavaScriptSubmission submission;
            try
            {
                submission = JavaScriptSubmission.Rewrite(code);
            }
            catch (ParseErrorException ex)
            {
                done.TrySetResult(ReplOutput.Failure($"{source}({ex.LineNumber},{ex.Column + 1}): error: {ex.Description}"));
                return;
            }
            catch (ModuleSyntaxException ex)
            {
                done.TrySetResult(ReplOutput.Failure($"{source}({ex.Position.Line},{ex.Position.Column + 1}): error: {ex.Description}"));
                return;
            }

            foreach (var name in submission.Declared)
            {
                if (_declared.Add(name) && !Js.Global.HasProperty(name))
                {
                    Js.SetValue(name, JsValue.Undefined);
                }
            }

            _program.LineCount = submission.LineCount;
            var completion = Js.Evaluate(JavaScriptWorkflow.Wrap(submission.Body), _program.ScriptPath);
            Await(
                completion,
                value => done.TrySetResult(submission.HasValue ? new ReplOutput(Display(value), null) : ReplOutput.Nothing),
                reason => done.TrySetResult(ReplOutput.Failure(Describe(ToException(reason, null), source))));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A limit or an uncaught error ends the submission, never the session.
            done.TrySetResult(ReplOutput.Failure(Describe(Translate(ex), source)));
        }
    }

    private string Display(JsValue value)
    {
        if (value.IsUndefined() || value.IsCallable())
        {
            return value.ToString();
        }

        try
        {
            return ReplDisplay.Json(ToJson(value));
        }
        catch (JavaScriptException)
        {
            return DescribeValue(value);
        }
    }

    /// <summary>The error, naming the loaded file instead of the session when a <c>#load</c> ran it.</summary>
    private string Describe(Exception error, string source)
    {
        var message = _program.DescribeFailure(error);
        return source == _program.ScriptPath || !message.StartsWith(_program.ScriptPath, StringComparison.Ordinal)
            ? message
            : source + message[_program.ScriptPath.Length..];
    }
}
