using Jint;
using Jint.Native;
using Jint.Native.Object;
using Jint.Runtime;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// Master-worker in JavaScript:
/// <c>await masterWorker(name, task, { split | master, worker, integrate, concurrency, onProgress, recovery, timeoutMs, continueOnFailure })</c>.
/// </summary>
internal sealed partial class JavaScriptRun
{
    private const string MasterWorkerUsage = "masterWorker(name, task, options)";

    private static readonly string[] MasterWorkerOptions =
        ["master", "split", "worker", "integrate", "concurrency", "onProgress", "recovery", "timeoutMs", "continueOnFailure"];

    partial void InstallMasterWorker(Engine engine) =>
        engine.SetValue("masterWorker", Function("masterWorker", MasterWorker, 3));

    private JsValue MasterWorker(JsValue thisValue, JsValue[] arguments)
    {
        const string usage = MasterWorkerUsage;
        var name = RequireName(arguments, 0, usage, "name");
        var task = ToJsonArgument(Arg(arguments, 1), usage, "task");
        if (Arg(arguments, 2) is not ObjectInstance bag || bag.IsCallable())
        {
            throw TypeError($"{usage}: options must be an object such as {{ split: (task) => [...], worker: \"shell\", concurrency: 3 }}");
        }

        foreach (var key in bag.GetOwnPropertyKeys(Types.String))
        {
            if (Array.IndexOf(MasterWorkerOptions, key.ToString()) < 0)
            {
                throw TypeError($"{usage}: unknown option '{key}'; known: {string.Join(", ", MasterWorkerOptions)}");
            }
        }

        // Script functions run on the JS thread: split, worker and integrate in their step's scope, onProgress in the caller's.
        var frame = _current;
        var worker = bag.Get("worker");
        var split = OptionalFunction(bag.Get("split"), "options.split");
        var integrate = OptionalFunction(bag.Get("integrate"), "options.integrate");
        var onProgress = OptionalFunction(bag.Get("onProgress"), "options.onProgress");
        if (!worker.IsString() && !worker.IsCallable())
        {
            throw TypeError($"{usage}: options.worker must be an agent kind such as \"shell\" or a function(subtask, index)");
        }

        MasterWorkerPlan plan;
        try
        {
            plan = new MasterWorkerPlan
            {
                MasterAgent = OptionalString(bag.Get("master"), usage, "options.master"),
                Split = split is null ? null : (scope, t, ct) => CallOnLoop(new ScopeFrame(scope, ct), split, () => [ToJs(t)], inline: false),
                WorkerAgent = worker.IsString() ? worker.AsString() : null,
                Worker = worker.IsCallable()
                    ? (scope, subtask, index, ct) => CallOnLoop(new ScopeFrame(scope, ct), worker, () => [ToJs(subtask), JsNumber.Create(index)], inline: false)
                    : null,
                Integrate = integrate is null ? null : (scope, results, t, ct) => CallOnLoop(new ScopeFrame(scope, ct), integrate, () => [ToJs(results), ToJs(t)], inline: false),
                OnProgress = onProgress is null ? null : (progress, _) => CallOnLoop(frame, onProgress, () => [ToJs(progress.ToJson())], inline: false),
                Concurrency = ConcurrencyOption(bag.Get("concurrency")),
                Recovery = ToJsonArgument(bag.Get("recovery"), usage, "options.recovery") is { } chain ? ScriptOptionParsing.RecoveryChain(chain) : null,
                Timeout = ToJsonArgument(bag.Get("timeoutMs"), usage, "options.timeoutMs") is { } ms ? ScriptOptionParsing.Milliseconds(ms, "timeoutMs") : null,
                ContinueOnFailure = BooleanOption(bag.Get("continueOnFailure"), "options.continueOnFailure"),
            };
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            throw TypeError($"{usage}: {ex.Message}");
        }

        return Start(frame, () => frame.Scope.MasterWorkerAsync(name, task, plan, frame.Token));
    }

    private JsValue? OptionalFunction(JsValue value, string what) =>
        value.IsUndefined() || value.IsNull() ? null
        : value.IsCallable() ? value
        : throw TypeError($"{MasterWorkerUsage}: {what} must be a function");

    private int? ConcurrencyOption(JsValue value)
    {
        if (value.IsUndefined() || value.IsNull())
        {
            return null;
        }

        var n = value.IsNumber() ? value.AsNumber() : double.NaN;
        return n is >= 1 and <= int.MaxValue && Math.Floor(n) == n
            ? (int)n
            : throw TypeError($"{MasterWorkerUsage}: options.concurrency must be a whole number of at least 1, not {DescribeValue(value)}");
    }

    private bool BooleanOption(JsValue value, string what) =>
        value.IsUndefined() || value.IsNull() ? false
        : value.IsBoolean() ? value.AsBoolean()
        : throw TypeError($"{MasterWorkerUsage}: {what} must be true or false");
}
