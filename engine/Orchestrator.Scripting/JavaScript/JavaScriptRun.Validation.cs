using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Jint.Runtime;
using Orchestrator.Core.Verbs;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// Validation, auto-correction and quality checks for .js workflows:
/// <c>await validate("order", order, { schema, checks: { total: (o) => … }, correct: (o, issues) => …, maxCorrections: 3 })</c>,
/// <c>validateResult({ schema, checks, correct, maxCorrections })</c>, <c>qa("has items", (result) => …, { required: true })</c>.
/// A check returns true/false, an issue (a string), an array of issues, or null/undefined (valid), or a promise of one.
/// </summary>
internal sealed partial class JavaScriptRun
{
    private JsValue ValidateVerb(JsValue thisValue, JsValue[] arguments)
    {
        var verb = DslVerbs.Validate;
        var name = RequireName(arguments, 0, verb.Usage, "name");
        var value = ToJsonArgument(Arg(arguments, 1), verb.Usage, "value");
        var (validators, correct, maxCorrections) = ValidationOptions(verb, Arg(arguments, 2));
        var frame = _current;
        return Start(frame, () => frame.Scope.ValidateAsync(name, value, validators, correct, maxCorrections, frame.Token));
    }

    private JsValue ValidateResultVerb(JsValue thisValue, JsValue[] arguments)
    {
        var (validators, correct, maxCorrections) = ValidationOptions(DslVerbs.ValidateResult, Arg(arguments, 0));
        _root.ValidateResult(validators, correct, maxCorrections);
        return JsValue.Undefined;
    }

    private JsValue QaVerb(JsValue thisValue, JsValue[] arguments)
    {
        var verb = DslVerbs.Qa;
        var name = RequireName(arguments, 0, verb.Usage, "name");
        var check = Arg(arguments, 1);
        if (!check.IsCallable())
        {
            throw TypeError($"{verb.Usage}: check must be a function(result) returning true/false, an issue, an array of issues or null");
        }

        var required = Options(verb, Arg(arguments, 2), example: "{ required: true }").Values.Get<bool>("required");
        _root.AddQualityCheck(name, async (scope, result, ct) =>
            Validator.IssuesFrom(await CallOnLoop(new ScopeFrame(scope, ct), check, () => [ToJs(result)], inline: false).ConfigureAwait(false), name), required);
        return JsValue.Undefined;
    }

    private (List<Validator> Validators, Corrector? Correct, int MaxCorrections) ValidationOptions(VerbDefinition verb, JsValue value)
    {
        var options = Options(verb, value, required: true, example: "{ schema: { type: \"object\" }, checks: { total: (v) => v.total >= 0 } }");
        var validators = new List<Validator>();
        if (options.Values.Json("schema") is { } schema)
        {
            validators.Add(Validator.Schema(schema));
        }

        var checks = options.Raw("checks");
        if (!checks.IsUndefined() && !checks.IsNull())
        {
            foreach (var (name, body) in NamedFunctions(checks, verb.Usage, "options.checks"))
            {
                validators.Add(Validator.Predicate(name, async (scope, value, ct) =>
                    Validator.IssuesFrom(await CallOnLoop(new ScopeFrame(scope, ct), body, () => [ToJs(value)], inline: false).ConfigureAwait(false), name)));
            }
        }

        if (validators.Count == 0)
        {
            throw TypeError($"{verb.Usage}: give options.schema, options.checks or both");
        }

        // The corrector runs in the scope of its `correct` step, so steps it starts nest under it.
        Corrector? correct = options.Function("correct") is { } corrector
            ? (scope, value, issues, ct) => CallOnLoop(
                new ScopeFrame(scope, ct),
                corrector,
                () => [ToJs(value), ToJs(new JsonArray([.. issues.Select(i => JsonValue.Create(i))]))],
                inline: false)
            : null;
        return (validators, correct, options.Values.Get<int>("maxCorrections"));
    }

    /// <summary>
    /// The script's promise settled with its result. With result validators or quality checks registered, they run
    /// now, while this loop can still call their script functions, as if the script had awaited them last; the engine's
    /// own call to the end-of-run phase then finds it done.
    /// </summary>
    private void OnScriptReturned(JsValue value)
    {
        if (_settled || !_root.HasEndOfRunWork)
        {
            OnScriptFulfilled(value);
            return;
        }

        JsonNode? result;
        try
        {
            result = ToJson(value);
        }
        catch (JavaScriptException)
        {
            // Says that the result is not JSON, as it would without validation.
            OnScriptFulfilled(value);
            return;
        }

        Await(Start(_top, () => _root.FinishRunAsync(result, _stopToken)), OnScriptFulfilled, OnScriptRejected);
    }
}
