using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Jint.Native.Error;
using Jint.Native.Object;
using Jint.Native.Promise;
using Jint.Runtime;
using Jint.Runtime.Interop;
using Orchestrator.Core.Verbs;
using Orchestrator.Core.Workflow;
using Serilog;
using JsonParser = Jint.Native.Json.JsonParser;
using JsonSerializer = Jint.Native.Json.JsonSerializer;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// One run of a JavaScript workflow. A Jint engine is single-threaded, so everything that touches it runs on
/// one dedicated thread that drains a queue of turns: evaluate the script, then, one at a time, settle a
/// promise the script is waiting on (a step finished), start a step body or call a merge function, each
/// followed by the promise jobs it unblocked. .NET code never touches the engine; it posts a turn.
/// </summary>
/// <remarks>
/// Step ids come from the <see cref="WorkflowScope"/> tree. C# flows the current scope with AsyncLocal; JS has
/// no async context of its own, so the run keeps the current scope itself: a body is called in the child scope
/// the step gave it, and Jint's job-callback hooks (the spec's HostMakeJobCallback/HostCallJobCallback)
/// capture the current scope wherever script registers a continuation (an <c>await</c>, a <c>then</c>) and
/// reinstate it when that continuation runs, so code after an <c>await</c> resumes in the scope it awaited in,
/// whichever scope settled the promise.
/// </remarks>
internal sealed partial class JavaScriptRun
{
    // Generous, so that the recursion limit, not the native stack, is what stops deep recursion; the stack
    // guard is the backstop for recursion the limit cannot see.
    private const int StackSize = 16 * 1024 * 1024;

    private readonly JavaScriptWorkflow _program;
    private readonly WorkflowScope _root;
    private readonly CancellationToken _cancellation;
    private readonly CancellationTokenSource _stop;
    private readonly CancellationToken _stopToken;
    private readonly ILogger _log;
    private readonly BlockingCollection<Action> _queue = [];
    private readonly Lock _gate = new();
    private readonly HashSet<TaskCompletionSource<JsonNode?>> _waiting = [];
    private readonly HashSet<Task> _steps = [];
    private readonly ConditionalWeakTable<ObjectInstance, HostError> _hostErrors = [];
    private readonly TaskCompletionSource<JsonNode?> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ScopeFrame _top;
    private Engine? _engine;
    private ScopeFrame _current;
    private bool _closed;
    private bool _settled;
    private int _pending;
    private int _threadId;
    private JsonNode? _result;
    private Exception? _failure;

    public JavaScriptRun(JavaScriptWorkflow program, WorkflowScope root, CancellationToken cancellation)
    {
        _program = program;
        _root = root;
        _cancellation = cancellation;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        _stopToken = _stop.Token;
        _log = program.Log.ForContext("RunId", root.RunId);
        _top = new ScopeFrame(root, _stopToken);
        _current = _top;
    }

    private Engine Js => _engine ?? throw new InvalidOperationException("the engine is not running");

    private bool OnLoopThread => Environment.CurrentManagedThreadId == _threadId;

    /// <summary>Runs the script to the end: its result, or the exception that ended it.</summary>
    public async Task<JsonNode?> RunAsync()
    {
        var thread = new Thread(Loop, StackSize) { IsBackground = true, Name = "js " + Path.GetFileName(_program.ScriptPath) };
        thread.Start();
        try
        {
            await ((Task)_outcome.Task).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

            // Steps the script started but did not wait for were cancelled when it ended; let them record how they ended.
            Task[] unfinished;
            lock (_gate)
            {
                unfinished = [.. _steps];
            }

            try
            {
                await Task.WhenAll(unfinished).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Their failures were handed to the script already, or nobody was waiting for them.
            }
        }
        finally
        {
            _stop.Dispose();
        }

        return await _outcome.Task.ConfigureAwait(false);
    }

    private void Loop()
    {
        _threadId = Environment.CurrentManagedThreadId;
        using var cancelled = _cancellation.Register(() => TryPost(_top, () => throw new OperationCanceledException("the run was cancelled", _cancellation)));
        try
        {
            _engine = CreateEngine();
            InstallGlobals(_engine);
            Turn(_top, () =>
            {
                var completion = Js.Evaluate(in _program.Prepared);
                Await(completion, OnScriptReturned, OnScriptRejected);
            });

            while (!_settled)
            {
                // Nothing the host is doing can post a turn any more, so the script's promise can never settle.
                if (_pending == 0 && _queue.Count == 0)
                {
                    Fail(new JavaScriptRunException(_program.Format(null, "the script is waiting for a promise that nothing can settle (no step is running)")));
                    break;
                }

                _queue.Take()();
            }
        }
        catch (Exception ex)
        {
            Fail(Translate(ex));
        }
        finally
        {
            Shutdown();
        }
    }

    private Engine CreateEngine()
    {
        var limits = _program.Options;
        return new Engine(options =>
        {
            options.LimitRecursion(limits.RecursionLimit);
            options.Constraints.StackOverflowGuard = limits.StackGuard;
            options.MaxStatements(limits.MaxStatements);
            options.LimitMemory(limits.MemoryLimitBytes);
            options.TimeoutInterval(limits.Timeout);
            options.CancellationToken(_cancellation);
            options.Culture(CultureInfo.InvariantCulture);
            options.Host.JobCallbacks = new ScopeFlow(this);
        });
    }

    private void InstallGlobals(Engine engine)
    {
        engine.SetValue("input", ToJs(_root.Input));
        engine.SetValue("runId", _root.RunId);
        InstallVerbs(engine);
        InstallSession(engine);
    }

    // ---- the event loop ----

    /// <summary>Runs <paramref name="body"/> and the promise jobs it unblocks as code of <paramref name="frame"/>'s scope.</summary>
    private void Turn(ScopeFrame frame, Action body)
    {
        Js.Constraints.Reset();
        _current = frame;
        try
        {
            body();
            Js.Advanced.ProcessTasks();
        }
        finally
        {
            _current = _top;
        }
    }

    private bool TryPost(ScopeFrame frame, Action body)
    {
        lock (_gate)
        {
            if (_closed)
            {
                return false;
            }

            _queue.Add(() => Turn(frame, body));
            return true;
        }
    }

    private void Fail(Exception error)
    {
        if (!_settled)
        {
            _settled = true;
            _failure = error;
        }
    }

    private void Shutdown()
    {
        TaskCompletionSource<JsonNode?>[] waiting;
        lock (_gate)
        {
            _closed = true;
            waiting = [.. _waiting];
            _waiting.Clear();
        }

        while (_queue.TryTake(out _))
        {
            // Turns posted after the end have nobody left to run them.
        }

        try
        {
            // Steps still running belong to code that will never resume.
            _stop.Cancel();
        }
        catch (AggregateException ex)
        {
            _log.Warning(ex, "Cancelling the unfinished steps of {Script} failed", _program.ScriptPath);
        }

        foreach (var call in waiting)
        {
            call.TrySetException(new OperationCanceledException("the script ended before this finished", _stopToken));
        }

        _engine?.Dispose();
        _queue.Dispose();
        if (_failure is not null)
        {
            _outcome.TrySetException(_failure);
        }
        else
        {
            _outcome.TrySetResult(_result);
        }
    }

    private void OnScriptFulfilled(JsValue value)
    {
        if (_settled)
        {
            return;
        }

        try
        {
            _result = ToJson(value);
            _settled = true;
        }
        catch (JavaScriptException ex)
        {
            Fail(new JavaScriptRunException(_program.Format(null, "the script's result is not JSON: " + DescribeValue(ex.Error)), null, ex));
        }
    }

    private void OnScriptRejected(JsValue reason) => Fail(ToException(reason, null));

    // ---- the DSL ----

    private JsValue Agent(JsValue thisValue, JsValue[] arguments)
    {
        var kind = RequireName(arguments, 0, "agent(kind)", "kind");
        var agent = new JsObject(Js);
        agent.Set("kind", kind);
        agent.Set("run", Function("run", (_, args) => RunAgent(kind, args), 2));
        return agent;
    }

    private JsValue RunAgent(string kind, JsValue[] arguments)
    {
        var verb = DslVerbs.Agent;
        var input = ToJsonArgument(Arg(arguments, 0), verb.Usage, "input");
        var second = Arg(arguments, 1);
        StepOptions options;
        if (second.IsString() || second.IsNull() || second.IsUndefined())
        {
            options = new StepOptions { Name = OptionalString(second, verb.Usage, "name") };
        }
        else
        {
            var read = Options(verb, second, example: "{ name: \"build\", recovery: [\"retry\"], timeoutMs: 5000 }");
            var values = read.Values;
            options = new StepOptions
            {
                Name = values.Text("name"),
                Recovery = values.Json("recovery") is { } chain ? ScriptOptionParsing.RecoveryChain(chain) : null,
                Timeout = values.Optional<TimeSpan>("timeoutMs"),
                Severity = values.Text("severity") is { } severity ? ScriptOptionParsing.Severity(severity) : null,
                Fallback = values.Json("fallback")?.DeepClone(),
                Compensation = read.Function("compensate") is { } undo
                    ? (scope, ct) => CallOnLoop(new ScopeFrame(scope, ct), undo, () => [], inline: false)
                    : null,
            };
        }

        var frame = _current;
        return Start(frame, () => frame.Scope.RunAgentAsync(kind, input, options, frame.Token));
    }

    private JsValue Checkpoint(JsValue thisValue, JsValue[] arguments)
    {
        var name = RequireName(arguments, 0, "checkpoint(name)", "name");
        var frame = _current;
        return Start(frame, async () =>
        {
            await frame.Scope.CheckpointAsync(name, frame.Token).ConfigureAwait(false);
            return null;
        });
    }

    private JsValue SetRecovery(JsValue thisValue, JsValue[] arguments)
    {
        const string usage = "setRecovery(chain)";
        try
        {
            _root.SetRecovery(ScriptOptionParsing.RecoveryChain(ToJsonArgument(Arg(arguments, 0), usage, "chain")));
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            throw TypeError($"{usage}: {ex.Message}");
        }

        return JsValue.Undefined;
    }

    private JsValue SetStepTimeout(JsValue thisValue, JsValue[] arguments)
    {
        const string usage = "setStepTimeout(ms)";
        try
        {
            var ms = ToJsonArgument(Arg(arguments, 0), usage, "ms");
            _root.SetStepTimeout(ms is null ? null : ScriptOptionParsing.Milliseconds(ms, "ms"));
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            throw TypeError($"{usage}: {ex.Message}");
        }

        return JsValue.Undefined;
    }

    private JsValue ClassifyFailures(JsValue thisValue, JsValue[] arguments)
    {
        var rule = Arg(arguments, 0);
        if (rule.IsNull() || rule.IsUndefined())
        {
            _root.SetFailureClassifier(null);
            return JsValue.Undefined;
        }

        if (!rule.IsCallable())
        {
            throw TypeError("classifyFailures(rule): rule must be a function(failure) returning \"critical\", \"moderate\", \"minor\" or null");
        }

        var frame = _current;
        _root.SetFailureClassifier(async failure =>
        {
            var verdict = await CallOnLoop(frame, rule, () => [ToJs(ScriptOptionParsing.Describe(failure))], inline: true).ConfigureAwait(false);
            return verdict is JsonValue value && value.TryGetValue<string>(out var text) ? ScriptOptionParsing.Severity(text) : null;
        });
        return JsValue.Undefined;
    }

    private JsValue Step(JsValue thisValue, JsValue[] arguments)
    {
        const string usage = "step(name, body)";
        var name = RequireName(arguments, 0, usage, "name");
        var body = Arg(arguments, 1);
        if (!body.IsCallable())
        {
            throw TypeError($"{usage}: body must be a function");
        }

        var frame = _current;
        return Start(frame, () => frame.Scope.StepAsync(name, (scope, ct) => CallOnLoop(new ScopeFrame(scope, ct), body, () => [], inline: false), frame.Token));
    }

    private JsValue Sequence(JsValue thisValue, JsValue[] arguments)
    {
        const string usage = "sequence(name, context, stages)";
        var name = RequireName(arguments, 0, usage, "name");
        var context = ToJsonArgument(Arg(arguments, 1), usage, "context");
        var stages = NamedFunctions(Arg(arguments, 2), usage, "stages")
            .Select(s => new SequenceStage(s.Name, (scope, ctx, ct) => CallOnLoop(new ScopeFrame(scope, ct), s.Body, () => [ToJs(ctx)], inline: false)))
            .ToList();
        var frame = _current;
        return Start(frame, () => frame.Scope.SequenceAsync(name, context, stages, frame.Token));
    }

    private JsValue Parallel(JsValue thisValue, JsValue[] arguments)
    {
        var verb = DslVerbs.Parallel;
        var name = RequireName(arguments, 0, verb.Usage, "name");
        var options = Options(verb, Arg(arguments, 2), example: "{ merge: \"collectAll\", context: {} }");
        var optional = new HashSet<string>(StringComparer.Ordinal);
        if (options.Values.Json("optional") is { } names)
        {
            optional.UnionWith(names is JsonArray list && list.All(n => n?.GetValueKind() == System.Text.Json.JsonValueKind.String)
                ? list.Select(n => n!.GetValue<string>())
                : throw TypeError($"{verb.Usage}: options.optional must list branch names"));
        }

        var branches = NamedFunctions(Arg(arguments, 1), verb.Usage, "branches")
            .Select(b => new ParallelBranch(b.Name, (scope, ctx, ct) => CallOnLoop(new ScopeFrame(scope, ct), b.Body, () => [ToJs(ctx)], inline: false)) { Optional = optional.Contains(b.Name) })
            .ToList();
        var frame = _current;
        var policy = options.Raw("merge");
        var merge = policy.IsCallable()
            // The resolver runs on the JS thread, in the scope that called parallel.
            ? MergePolicy.Combine((key, current, incoming) => CallOnLoop(frame, policy, () => [key, ToJs(current), ToJs(incoming)], inline: true))
            : options.Values.Json("merge") switch
            {
                null => MergePolicy.AllMustSucceed,
                JsonValue text when text.GetValueKind() == System.Text.Json.JsonValueKind.String => MergePolicy.Parse(text.GetValue<string>()),
                _ => throw TypeError($"{verb.Usage}: options.merge must be allMustSucceed, firstSuccess, collectAll or a function(key, current, incoming)"),
            };
        var context = options.Values.Json("context");
        return Start(frame, () => frame.Scope.ParallelAsync(name, merge, branches, context, frame.Token));
    }

    private JsValue Handoff(JsValue thisValue, JsValue[] arguments)
    {
        const string usage = "handoff(name, data, templatePath)";
        var name = RequireName(arguments, 0, usage, "name");
        var data = ToJsonArgument(Arg(arguments, 1), usage, "data");
        var template = OptionalString(Arg(arguments, 2), usage, "templatePath");
        var templatePath = template is null ? null : Path.GetFullPath(template, Path.GetDirectoryName(_program.ScriptPath)!);
        var frame = _current;
        return Start(frame, () => frame.Scope.HandoffAsync(name, data, templatePath, frame.Token));
    }

    private JsValue Log(JsValue thisValue, JsValue[] arguments)
    {
        _log.Information("{ScriptMessage}", string.Join(" ", arguments.Select(DescribeValue)));
        return JsValue.Undefined;
    }

    // ---- crossing between JS promises and .NET tasks ----

    /// <summary>Starts a step and hands JS a promise that settles, in the caller's scope, when the step ends.</summary>
    private JsValue Start(ScopeFrame frame, Func<Task<JsonNode?>> begin)
    {
        var site = CallSite();
        Task<JsonNode?> step;
        try
        {
            step = begin();
        }
        catch (ArgumentException ex)
        {
            throw TypeError(ex.Message);
        }
        catch (Exception ex)
        {
            // E.g. a handoff template that does not parse: a failure of the step, which the script may catch.
            step = Task.FromException<JsonNode?>(ex);
        }

        var promise = Js.Advanced.RegisterPromise();
        _pending++;
        lock (_gate)
        {
            _steps.Add(step);
        }

        _ = SettleWhenDoneAsync(step, promise, frame, site);
        return promise.Promise;
    }

    private async Task SettleWhenDoneAsync(Task<JsonNode?> step, ManualPromise promise, ScopeFrame frame, ScriptLocation? site)
    {
        Exception? error = null;
        try
        {
            await step.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            error = ex;
        }

        TryPost(frame, () =>
        {
            _pending--;
            lock (_gate)
            {
                _steps.Remove(step);
            }

            if (error is Core.Waits.RunParkedException)
            {
                // A parked run ends here, whatever the script would catch: it goes on from this wait when resumed.
                Fail(error);
                return;
            }

            if (error is not null)
            {
                promise.Reject(ToJsError(error, site));
                return;
            }

            JsValue value;
            try
            {
                value = ToJs(step.Result);
            }
            catch (JavaScriptException ex)
            {
                promise.Reject(ex.Error);
                return;
            }

            promise.Resolve(value);
        });
    }

    /// <summary>
    /// Calls a script function for .NET code (a step body, a merge function) on the JS thread and completes when
    /// the promise it returns settles. The task is cancelled when <paramref name="frame"/>'s token is, whatever the
    /// script does; a script cannot be interrupted, but nobody waits for it any more.
    /// </summary>
    private Task<JsonNode?> CallOnLoop(ScopeFrame frame, JsValue function, Func<JsValue[]> arguments, bool inline)
    {
        var call = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_closed)
            {
                call.SetException(new OperationCanceledException("the script has ended", _stopToken));
                return call.Task;
            }

            _waiting.Add(call);
        }

        if (inline && OnLoopThread)
        {
            var outer = _current;
            _current = frame;
            try
            {
                Invoke(call, function, arguments);
            }
            finally
            {
                _current = outer;
            }
        }
        else if (!TryPost(frame, () => Invoke(call, function, arguments)))
        {
            Complete(call, null, new OperationCanceledException("the script has ended", _stopToken));
        }

        if (!frame.Token.CanBeCanceled)
        {
            return call.Task;
        }

        // Once the token fires nobody waits for the call itself; observe its failure so that it is not reported as unobserved.
        call.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return call.Task.WaitAsync(frame.Token);
    }

    private void Invoke(TaskCompletionSource<JsonNode?> call, JsValue function, Func<JsValue[]> arguments)
    {
        JsValue returned;
        try
        {
            returned = Js.Call(function, JsValue.Undefined, arguments());
        }
        catch (JavaScriptException ex)
        {
            Complete(call, null, ToException(ex.Error, Locate(ex)));
            return;
        }

        Await(
            returned,
            value =>
            {
                try
                {
                    Complete(call, ToJson(value), null);
                }
                catch (JavaScriptException ex)
                {
                    Complete(call, null, ToException(ex.Error, Locate(ex)));
                }
            },
            reason => Complete(call, null, ToException(reason, null)));
    }

    private void Complete(TaskCompletionSource<JsonNode?> call, JsonNode? value, Exception? error)
    {
        lock (_gate)
        {
            _waiting.Remove(call);
        }

        if (error is null)
        {
            call.TrySetResult(value);
        }
        else
        {
            call.TrySetException(error);
        }
    }

    /// <summary>Calls <paramref name="fulfilled"/> or <paramref name="rejected"/> once <paramref name="value"/> settles (at once if it is no promise).</summary>
    private void Await(JsValue value, Action<JsValue> fulfilled, Action<JsValue> rejected)
    {
        if (value is ObjectInstance thenable && thenable.Get("then") is var then && then.IsCallable())
        {
            // The callbacks run inside promise jobs: they must not throw, or the settlement would go nowhere.
            Js.Call(then, value, [
                Function("onFulfilled", (_, args) => { fulfilled(Arg(args, 0)); return JsValue.Undefined; }, 1),
                Function("onRejected", (_, args) => { rejected(Arg(args, 0)); return JsValue.Undefined; }, 1),
            ]);
        }
        else
        {
            fulfilled(value);
        }
    }

    /// <summary>A JS error for a .NET failure; the script can catch it, and if it does not, the original exception ends the run.</summary>
    private JsValue ToJsError(Exception error, ScriptLocation? site)
    {
        var jsError = Js.Intrinsics.Error.Construct(error.Message);
        if (error is StepFailedException failed)
        {
            jsError.Set("stepId", failed.StepId);
            jsError.Set("reason", failed.Reason);
        }

        jsError.Set("stack", site is { } at ? $"    at {_program.ScriptPath}:{at.Line}:{at.Column}" : "");
        _hostErrors.AddOrUpdate(jsError, new HostError(error, site));
        return jsError;
    }

    /// <summary>The .NET exception for a rejection or a throw the script did not catch.</summary>
    private Exception ToException(JsValue reason, ScriptLocation? fallback)
    {
        if (reason is ObjectInstance thrown && _hostErrors.TryGetValue(thrown, out var host))
        {
            if (host.Site is { } site)
            {
                _program.RememberLocation(host.Error, site);
            }

            return host.Error;
        }

        var location = LocationOf(reason) ?? fallback;
        var message = reason is ErrorInstance ? DescribeValue(reason) : "uncaught " + DescribeValue(reason);
        return new JavaScriptRunException(_program.Format(location, message), location);
    }

    /// <summary>The message for an exception that escaped the engine itself: a limit, a cancellation, a host failure.</summary>
    private Exception Translate(Exception error)
    {
        var limits = _program.Options;
        ScriptLocation? at = JintException.TryGetJavaScriptLocation(error, out var where) && IsScript(where.SourceFile)
            ? _program.MapPosition(where.Start.Line, where.Start.Column)
            : null;
        string Say(string message) => _program.Format(at, message);
        return error switch
        {
            OperationCanceledException => error,
            ExecutionCanceledException => new OperationCanceledException("the run was cancelled", error, _cancellation),
            JavaScriptRunException => error,
            StatementsCountOverflowException => new JavaScriptRunException(Say($"the script exceeded {limits.MaxStatements} statements without waiting on a step"), at, error),
            MemoryLimitExceededException => new JavaScriptRunException(Say($"the script exceeded its memory limit of {limits.MemoryLimitBytes} bytes ({error.Message})"), at, error),
            RecursionDepthOverflowException r => new JavaScriptRunException(Say($"the script exceeded the recursion limit of {limits.RecursionLimit} (in {r.CallExpressionReference})"), at, error),
            TimeoutException => new JavaScriptRunException(Say($"the script ran for more than {limits.Timeout} without waiting on a step"), at, error),
            JavaScriptException js => ToException(js.Error, Locate(js) ?? at),
            _ => new JavaScriptRunException(Say($"the script host failed: {error.GetType().Name}: {error.Message}"), at, error),
        };
    }

    // ---- JSON at the boundary ----

    private JsValue ToJs(JsonNode? node) => node is null ? JsValue.Null : new JsonParser(Js).Parse(node.ToJsonString());

    /// <summary>JSON.stringify semantics: <c>undefined</c>, functions and symbols become null.</summary>
    private JsonNode? ToJson(JsValue value)
    {
        var text = new JsonSerializer(Js).Serialize(value);
        return text.IsString() ? JsonNode.Parse(text.AsString()) : null;
    }

    private JsonNode? ToJsonArgument(JsValue value, string usage, string what)
    {
        try
        {
            return ToJson(value);
        }
        catch (JavaScriptException ex)
        {
            throw TypeError($"{usage}: {what} is not JSON: {DescribeValue(ex.Error)}");
        }
    }

    // ---- helpers ----

    private ClrFunction Function(string name, Func<JsValue, JsValue[], JsValue> body, int length) => new(Js, name, body, length);

    private JavaScriptException TypeError(string message) => new(Js.Intrinsics.TypeError, message);

    private static JsValue Arg(JsValue[] arguments, int index) => index < arguments.Length ? arguments[index] : JsValue.Undefined;

    private string RequireName(JsValue[] arguments, int index, string usage, string what)
    {
        var value = Arg(arguments, index);
        if (!value.IsString() || string.IsNullOrWhiteSpace(value.AsString()))
        {
            throw TypeError($"{usage}: {what} must be a non-empty string");
        }

        return value.AsString();
    }

    private string? OptionalString(JsValue value, string usage, string what)
    {
        if (value.IsUndefined() || value.IsNull())
        {
            return null;
        }

        return value.IsString() && !string.IsNullOrWhiteSpace(value.AsString())
            ? value.AsString()
            : throw TypeError($"{usage}: {what} must be a non-empty string when given");
    }

    /// <summary>An object's own enumerable properties in JS key order, each of which must be a function.</summary>
    private List<(string Name, JsValue Body)> NamedFunctions(JsValue value, string usage, string what)
    {
        if (value is not ObjectInstance bag || value.IsCallable())
        {
            throw TypeError($"{usage}: {what} must be an object whose properties are functions, e.g. {{ unit: async (ctx) => ... }}");
        }

        var functions = new List<(string, JsValue)>();
        foreach (var key in bag.GetOwnPropertyKeys(Types.String))
        {
            if (bag.GetOwnProperty(key).Enumerable)
            {
                if (string.IsNullOrWhiteSpace(key.ToString()))
                {
                    throw TypeError($"{usage}: {what} need non-empty names");
                }

                var body = bag.Get(key);
                if (!body.IsCallable())
                {
                    throw TypeError($"{usage}: {what}.{key} must be a function");
                }

                functions.Add((key.ToString(), body));
            }
        }

        return functions;
    }

    /// <summary>What a log line or an error message shows for a value: strings as they are, errors as <c>Name: message</c>, the rest as JSON.</summary>
    private string DescribeValue(JsValue value)
    {
        try
        {
            if (value.IsString())
            {
                return value.AsString();
            }

            if (value is ErrorInstance error)
            {
                var name = error.Get("name");
                var message = error.Get("message");
                var text = message.IsUndefined() ? "" : message.ToString();
                return text.Length == 0 ? name.ToString() : $"{name}: {text}";
            }

            if (value.IsUndefined() || value.IsCallable())
            {
                return value.ToString();
            }

            var json = new JsonSerializer(Js).Serialize(value);
            return json.IsString() ? json.AsString() : value.ToString();
        }
        catch (JavaScriptException)
        {
            return value.Type.ToString();
        }
    }

    /// <summary>Where the script called the DSL function now running: the innermost script frame of the JS call stack.</summary>
    private ScriptLocation? CallSite()
    {
        // The top frame is the host function itself, and Jint gives it no useful position (for a call that spans
        // lines, the last line with the first column); the caller's frame holds where the call starts.
        var stack = Js.Advanced.StackTrace;
        var newline = stack.IndexOf('\n', StringComparison.Ordinal);
        return FirstScriptFrame(newline < 0 ? null : stack[(newline + 1)..]);
    }

    private ScriptLocation? LocationOf(JsValue value)
    {
        if (value is not ObjectInstance error)
        {
            return null;
        }

        try
        {
            var stack = error.Get("stack");
            return stack.IsString() ? FirstScriptFrame(stack.AsString()) : null;
        }
        catch (JavaScriptException)
        {
            return null;
        }
    }

    private ScriptLocation? Locate(JavaScriptException error) =>
        LocationOf(error.Error) ?? (IsScript(error.Location.SourceFile) ? _program.MapPosition(error.Location.Start.Line, error.Location.Start.Column) : null);

    private ScriptLocation? FirstScriptFrame(string? stack)
    {
        if (string.IsNullOrEmpty(stack))
        {
            return null;
        }

        // Frames read "   at name (file:line:column)" or "   at file:line:column"; look for this script's path
        // rather than parse the frame, since a path may itself hold spaces and parentheses.
        var marker = _program.ScriptPath + ":";
        foreach (var frame in stack.Split('\n'))
        {
            var at = frame.IndexOf(marker, StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }

            var position = frame.AsSpan(at + marker.Length).TrimEnd().TrimEnd(')');
            var colon = position.IndexOf(':');
            if (colon > 0
                && int.TryParse(position[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var line)
                && int.TryParse(position[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var column))
            {
                // Stack traces count columns from 1.
                return _program.MapPosition(line, column - 1);
            }
        }

        return null;
    }

    private bool IsScript(string? file) => string.Equals(file, _program.ScriptPath, StringComparison.Ordinal);

    /// <summary>The scope script code belongs to, with the token its steps are cancelled by.</summary>
    private sealed record ScopeFrame(WorkflowScope Scope, CancellationToken Token);

    /// <summary>Carries the current scope across <c>await</c>: captured where a continuation is registered, reinstated while it runs.</summary>
    private sealed class ScopeFlow(JavaScriptRun run) : JobCallbackHooks
    {
        protected override object? Capture(Engine engine) => run._current;

        protected override object? Enter(Engine engine, object hostDefined)
        {
            var outer = run._current;
            run._current = (ScopeFrame)hostDefined;
            return outer;
        }

        protected override void Exit(Engine engine, object? token) => run._current = (ScopeFrame)token!;
    }

    /// <summary>A .NET failure handed to the script as a JS error, and where the script was waiting for it.</summary>
    private sealed record HostError(Exception Error, ScriptLocation? Site);
}
