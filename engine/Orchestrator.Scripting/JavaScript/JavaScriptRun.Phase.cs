using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Jint.Native.Object;
using Jint.Runtime;
using Orchestrator.Core.Strategies;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// Phases and the monitor in JavaScript:
/// <c>await phase(name, items, { strategies: [{ name, agent, mode, concurrency, timeoutMs, recovery, minEffectiveness }], worker, split, integrate, window, exploration, continueOnFailure })</c>,
/// <c>onAnomaly((anomaly) => …)</c>, <c>configureMonitor({ intervalMs, optimizeEveryMs, threshold })</c>.
/// </summary>
internal sealed partial class JavaScriptRun
{
    private const string PhaseUsage = "phase(name, items, options)";

    private static readonly string[] PhaseOptions = ["strategies", "worker", "split", "integrate", "window", "exploration", "continueOnFailure"];

    partial void InstallPhase(Engine engine)
    {
        engine.SetValue("phase", Function("phase", Phase, 3));
        engine.SetValue("onAnomaly", Function("onAnomaly", OnAnomaly, 1));
        engine.SetValue("configureMonitor", Function("configureMonitor", ConfigureMonitor, 1));
    }

    private JsValue Phase(JsValue thisValue, JsValue[] arguments)
    {
        const string usage = PhaseUsage;
        var name = RequireName(arguments, 0, usage, "name");
        var items = ToJsonArgument(Arg(arguments, 1), usage, "items");
        if (Arg(arguments, 2) is not ObjectInstance bag || bag.IsCallable())
        {
            throw TypeError($"{usage}: options must be an object such as {{ strategies: [{{ name: \"fast\", agent: \"shell\" }}] }}");
        }

        foreach (var key in bag.GetOwnPropertyKeys(Types.String))
        {
            if (Array.IndexOf(PhaseOptions, key.ToString()) < 0)
            {
                throw TypeError($"{usage}: unknown option '{key}'; known: {string.Join(", ", PhaseOptions)}");
            }
        }

        var frame = _current;
        var worker = OptionalFunction(bag.Get("worker"), "options.worker");
        var split = OptionalFunction(bag.Get("split"), "options.split");
        var integrate = OptionalFunction(bag.Get("integrate"), "options.integrate");
        PhasePlan plan;
        try
        {
            var strategies = ToJsonArgument(bag.Get("strategies"), usage, "options.strategies") as JsonArray
                ?? throw new ArgumentException("options.strategies must be an array of strategies");
            plan = new PhasePlan
            {
                Strategies = [.. strategies.Select(ScriptOptionParsing.Strategy)],
                Worker = worker is null ? null : (scope, work, ct) => CallOnLoop(new ScopeFrame(scope, ct), worker, () => [ToJs(Describe(work))], inline: false),
                Split = split is null ? null : (scope, t, ct) => CallOnLoop(new ScopeFrame(scope, ct), split, () => [ToJs(t)], inline: false),
                Integrate = integrate is null ? null : (scope, results, t, ct) => CallOnLoop(new ScopeFrame(scope, ct), integrate, () => [ToJs(results), ToJs(t)], inline: false),
                Window = ToJsonArgument(bag.Get("window"), usage, "options.window")?.GetValue<int>() ?? 5,
                Exploration = ToJsonArgument(bag.Get("exploration"), usage, "options.exploration")?.GetValue<double>() ?? 0.5,
                ContinueOnFailure = BooleanOption(bag.Get("continueOnFailure"), "options.continueOnFailure"),
            };
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            throw TypeError($"{usage}: {ex.Message}");
        }

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
        const string usage = "configureMonitor({ intervalMs, optimizeEveryMs, threshold })";
        if (ToJsonArgument(Arg(arguments, 0), usage, "options") is not JsonObject options)
        {
            throw TypeError($"{usage}: options must be an object");
        }

        try
        {
            _current.Scope.ConfigureMonitor(
                options["intervalMs"] is { } interval ? ScriptOptionParsing.Milliseconds(interval, "intervalMs") : null,
                options["optimizeEveryMs"] is { } optimize ? ScriptOptionParsing.Milliseconds(optimize, "optimizeEveryMs") : null,
                options["threshold"]?.GetValue<double>());
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            throw TypeError($"{usage}: {ex.Message}");
        }

        return JsValue.Undefined;
    }
}
