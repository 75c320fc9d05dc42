using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Orchestrator.Core.Verbs;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// Durable waits in JavaScript: <c>await approval("deploy", data, { timeoutMs })</c>, <c>await waitForEvent("payment",
/// { timeoutMs })</c>, <c>await sleep(ms)</c>; the options also take <c>severity</c> and <c>fallback</c>, as agent steps do.
/// </summary>
internal sealed partial class JavaScriptRun
{
    private JsValue Approval(JsValue thisValue, JsValue[] arguments)
    {
        var verb = DslVerbs.Approval;
        var name = RequireName(arguments, 0, verb.Usage, "name");
        var data = ToJsonArgument(Arg(arguments, 1), verb.Usage, "data");
        var options = WaitOptions(verb, Arg(arguments, 2));
        var frame = _current;
        return Start(frame, () => frame.Scope.ApprovalAsync(name, data, options, frame.Token));
    }

    private JsValue WaitForEvent(JsValue thisValue, JsValue[] arguments)
    {
        var verb = DslVerbs.WaitForEvent;
        var name = RequireName(arguments, 0, verb.Usage, "name");
        var options = WaitOptions(verb, Arg(arguments, 1));
        var frame = _current;
        return Start(frame, () => frame.Scope.WaitForEventAsync(name, options, frame.Token));
    }

    private JsValue Sleep(JsValue thisValue, JsValue[] arguments)
    {
        const string usage = "sleep(ms, name)";
        TimeSpan duration;
        try
        {
            duration = ScriptOptionParsing.Milliseconds(ToJsonArgument(Arg(arguments, 0), usage, "ms") ?? throw new ArgumentException("ms is required"), "ms");
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            throw TypeError($"{usage}: {ex.Message}");
        }

        var name = OptionalString(Arg(arguments, 1), usage, "name");
        var frame = _current;
        return Start(frame, () => frame.Scope.SleepAsync(duration, name, frame.Token));
    }

    /// <summary>A wait's options: <c>{ timeoutMs, severity, fallback }</c>, as an agent step's.</summary>
    private StepOptions WaitOptions(VerbDefinition verb, JsValue value)
    {
        var options = Options(verb, value).Values;
        return new StepOptions
        {
            Timeout = options.Optional<TimeSpan>("timeoutMs"),
            Severity = options.Text("severity") is { } severity ? ScriptOptionParsing.Severity(severity) : null,
            Fallback = options.Json("fallback")?.DeepClone(),
        };
    }
}
