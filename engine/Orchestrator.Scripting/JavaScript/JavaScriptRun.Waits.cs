using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// Durable waits in JavaScript: <c>await approval("deploy", data, { timeoutMs })</c>, <c>await waitForEvent("payment",
/// { timeoutMs })</c>, <c>await sleep(ms)</c>; the options also take <c>severity</c> and <c>fallback</c>, as agent steps do.
/// </summary>
internal sealed partial class JavaScriptRun
{
    partial void InstallWaits(Engine engine)
    {
        engine.SetValue("approval", Function("approval", Approval, 3));
        engine.SetValue("waitForEvent", Function("waitForEvent", WaitForEvent, 2));
        engine.SetValue("sleep", Function("sleep", Sleep, 2));
    }

    private JsValue Approval(JsValue thisValue, JsValue[] arguments)
    {
        const string usage = "approval(name, data, options)";
        var name = RequireName(arguments, 0, usage, "name");
        var data = ToJsonArgument(Arg(arguments, 1), usage, "data");
        var options = WaitOptions(Arg(arguments, 2), usage);
        var frame = _current;
        return Start(frame, () => frame.Scope.ApprovalAsync(name, data, options, frame.Token));
    }

    private JsValue WaitForEvent(JsValue thisValue, JsValue[] arguments)
    {
        const string usage = "waitForEvent(name, options)";
        var name = RequireName(arguments, 0, usage, "name");
        var options = WaitOptions(Arg(arguments, 1), usage);
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
    private StepOptions? WaitOptions(JsValue value, string usage)
    {
        if (value.IsUndefined() || value.IsNull())
        {
            return null;
        }

        var options = ParseStepOptions(ToJsonArgument(value, usage, "options"), usage);
        return options.Name is null && options.Recovery is null
            ? options
            : throw TypeError($"{usage}: options take timeoutMs, severity and fallback only");
    }
}
