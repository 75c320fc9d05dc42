using Jint;
using Jint.Native;
using Orchestrator.Core.Verbs;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// Master-worker in JavaScript:
/// <c>await masterWorker(name, task, { split | master, worker, integrate, concurrency, onProgress, recovery, timeoutMs, continueOnFailure })</c>.
/// </summary>
internal sealed partial class JavaScriptRun
{
    private JsValue MasterWorker(JsValue thisValue, JsValue[] arguments)
    {
        var verb = DslVerbs.MasterWorker;
        var name = RequireName(arguments, 0, verb.Usage, "name");
        var task = ToJsonArgument(Arg(arguments, 1), verb.Usage, "task");
        var options = Options(verb, Arg(arguments, 2), required: true, example: "{ split: (task) => [...], worker: \"shell\", concurrency: 3 }");

        // Script functions run on the JS thread: split, worker and integrate in their step's scope, onProgress in the caller's.
        var frame = _current;
        var worker = options.Raw("worker");
        var split = options.Function("split");
        var integrate = options.Function("integrate");
        var onProgress = options.Function("onProgress");
        if (!worker.IsString() && !worker.IsCallable())
        {
            throw TypeError($"{verb.Usage}: options.worker must be an agent kind such as \"shell\" or a function(subtask, index)");
        }

        var plan = new MasterWorkerPlan
        {
            MasterAgent = options.Values.Text("master"),
            Split = split is null ? null : (scope, t, ct) => CallOnLoop(new ScopeFrame(scope, ct), split, () => [ToJs(t)], inline: false),
            WorkerAgent = worker.IsString() ? worker.AsString() : null,
            Worker = worker.IsCallable()
                ? (scope, subtask, index, ct) => CallOnLoop(new ScopeFrame(scope, ct), worker, () => [ToJs(subtask), JsNumber.Create(index)], inline: false)
                : null,
            Integrate = integrate is null ? null : (scope, results, t, ct) => CallOnLoop(new ScopeFrame(scope, ct), integrate, () => [ToJs(results), ToJs(t)], inline: false),
            OnProgress = onProgress is null ? null : (progress, _) => CallOnLoop(frame, onProgress, () => [ToJs(progress.ToJson())], inline: false),
            Concurrency = options.Values.Optional<int>("concurrency"),
            Recovery = options.Values.Json("recovery") is { } chain ? ScriptOptionParsing.RecoveryChain(chain) : null,
            Timeout = options.Values.Optional<TimeSpan>("timeoutMs"),
            ContinueOnFailure = options.Values.Get<bool>("continueOnFailure"),
        };
        return Start(frame, () => frame.Scope.MasterWorkerAsync(name, task, plan, frame.Token));
    }
}
