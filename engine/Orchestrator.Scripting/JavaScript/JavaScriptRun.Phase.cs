using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Orchestrator.Core.Goals;
using Orchestrator.Core.Strategies;
using Orchestrator.Core.Verbs;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// Phases and the monitor in JavaScript:
/// <c>await phase(name, items, { strategies: [{ name, agent, mode, concurrency, timeoutMs, recovery, minEffectiveness, master }], worker, split, integrate, window, exploration, continueOnFailure, budget, overBudget })</c>,
/// <c>onAnomaly((anomaly) => …)</c>, <c>configureMonitor({ intervalMs, optimizeEveryMs, threshold })</c>.
/// </summary>
internal sealed partial class JavaScriptRun
{
    private JsValue Phase(JsValue thisValue, JsValue[] arguments)
    {
        var verb = DslVerbs.Phase;
        var name = RequireName(arguments, 0, verb.Usage, "name");
        var items = ToJsonArgument(Arg(arguments, 1), verb.Usage, "items");
        var options = Options(verb, Arg(arguments, 2), required: true, example: "{ strategies: [{ name: \"fast\", agent: \"shell\" }] }");
        var frame = _current;
        var worker = options.Function("worker");
        var split = options.Function("split");
        var integrate = options.Function("integrate");
        var strategies = options.Values.Json("strategies") as JsonArray
            ?? throw new ArgumentException("options.strategies must be an array of strategies");
        var plan = new PhasePlan
        {
            Strategies = [.. strategies.Select(ScriptOptionParsing.Strategy)],
            Worker = worker is null ? null : (scope, work, ct) => CallOnLoop(new ScopeFrame(scope, ct), worker, () => [ToJs(Describe(work))], inline: false),
            Split = split is null ? null : (scope, t, ct) => CallOnLoop(new ScopeFrame(scope, ct), split, () => [ToJs(t)], inline: false),
            Integrate = integrate is null ? null : (scope, results, t, ct) => CallOnLoop(new ScopeFrame(scope, ct), integrate, () => [ToJs(results), ToJs(t)], inline: false),
            Window = options.Values.Get<int>("window"),
            Exploration = options.Values.Get<double>("exploration"),
            ContinueOnFailure = options.Values.Get<bool>("continueOnFailure"),
            Budget = options.Values.Optional<double>("budget"),
            OverBudget = PhaseBudget.SeverityOf(options.Values),
        };
        return Start(frame, () => frame.Scope.PhaseAsync(name, items, plan, frame.Token));
    }

    private static JsonObject Describe(PhaseWork work) => new()
    {
        ["item"] = work.Item?.DeepClone(),
        ["index"] = work.Index,
        ["strategy"] = work.Strategy.ToJson(),
        ["agent"] = work.Agent,
    };

    private JsValue OnAnomaly(JsValue thisValue, JsValue[] arguments)
    {
        var handler = Arg(arguments, 0);
        if (!handler.IsCallable())
        {
            throw TypeError("onAnomaly(handler): handler must be a function(anomaly)");
        }

        var frame = _current;
        frame.Scope.OnAnomaly((anomaly, _) => CallOnLoop(frame, handler, () => [ToJs(anomaly)], inline: false));
        return JsValue.Undefined;
    }

    private JsValue ConfigureMonitor(JsValue thisValue, JsValue[] arguments)
    {
        var options = Options(DslVerbs.ConfigureMonitor, Arg(arguments, 0), required: true).Values;
        _current.Scope.ConfigureMonitor(options.Optional<TimeSpan>("intervalMs"), options.Optional<TimeSpan>("optimizeEveryMs"), options.Optional<double>("threshold"));
        return JsValue.Undefined;
    }

    private JsValue ConfigureCircuits(JsValue thisValue, JsValue[] arguments)
    {
        var options = Options(DslVerbs.ConfigureCircuits, Arg(arguments, 0), required: true).Values;
        _current.Scope.ConfigureCircuits(options.Text("agent"), options.Optional<double>("failureRatio"), options.Optional<int>("minimumThroughput"), options.Optional<TimeSpan>("windowMs"), options.Optional<TimeSpan>("openForMs"));
        return JsValue.Undefined;
    }
}
