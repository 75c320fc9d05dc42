using Jint.Native;
using Orchestrator.Core.Goals;
using Orchestrator.Core.Verbs;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>Goals in JavaScript: <c>await goals({ prefer: "speed", maxFailureRate: 0.05, budget: 20000, halfLife: 2 })</c>.</summary>
internal sealed partial class JavaScriptRun
{
    private JsValue Goals(JsValue thisValue, JsValue[] arguments)
    {
        var goals = RunGoals.From(Options(DslVerbs.Goals, Arg(arguments, 0), required: true, example: "{ prefer: \"speed\" }").Values);
        var frame = _current;
        return Start(frame, () => frame.Scope.GoalsAsync(goals, frame.Token));
    }
}
