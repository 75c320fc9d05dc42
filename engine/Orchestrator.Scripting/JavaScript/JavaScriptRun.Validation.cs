using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Jint.Native.Object;
using Jint.Runtime;
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
    private const string ValidateUsage = "validate(name, value, { schema, checks, correct, maxCorrections })";
    private const string ValidateResultUsage = "validateResult({ schema, checks, correct, maxCorrections })";
    private const string QaUsage = "qa(name, check, { required })";

    private static readonly HashSet<string> ValidationKeys = new(StringComparer.Ordinal) { "schema", "checks", "correct", "maxCorrections" };

    partial void InstallValidation(Engine engine)
    {
        engine.SetValue("validate", Function("validate", ValidateVerb, 3));
        engine.SetValue("validateResult", Function("validateResult", ValidateResultVerb, 1));
        engine.SetValue("qa", Function("qa", QaVerb, 3));
    }

    private JsValue ValidateVerb(JsValue thisValue, JsValue[] arguments)
    {
        var name = RequireName(arguments, 0, ValidateUsage, "name");
        var value = ToJsonArgument(Arg(arguments, 1), ValidateUsage, "value");
        var (validators, correct, maxCorrections) = ValidationOptions(Arg(arguments, 2), ValidateUsage);
        var frame = _current;
        return Start(frame, () => frame.Scope.ValidateAsync(name, value, validators, correct, maxCorrections, frame.Token));
    }

    private JsValue ValidateResultVerb(JsValue thisValue, JsValue[] arguments)
    {
        var (validators, correct, maxCorrections) = ValidationOptions(Arg(arguments, 0), ValidateResultUsage);
        try
        {
            _root.ValidateResult(validators, correct, maxCorrections);
        }
        catch (ArgumentException ex)
        {
            throw TypeError($"{ValidateResultUsage}: {ex.Message}");
        }

        return JsValue.Undefined;
    }

    private JsValue QaVerb(JsValue thisValue, JsValue[] arguments)
    {
        var name = RequireName(arguments, 0, QaUsage, "name");
        var check = Arg(arguments, 1);
        if (!check.IsCallable())
        {
            throw TypeError($"{QaUsage}: check must be a function(result) returning true/false, an issue, an array of issues or null");
        }

        var required = false;
        var options = Arg(arguments, 2);
        if (options is ObjectInstance bag && !options.IsCallable())
        {
            foreach (var key in bag.GetOwnPropertyKeys(Types.String))
            {
                if (key.ToString() != "required")
                {
                    throw TypeError($"{QaUsage}: unknown option '{key}'");
                }
            }

            var flag = bag.Get("required");
            required = flag.IsUndefined() || flag.IsNull() ? false : flag.IsBoolean() ? flag.AsBoolean() : throw TypeError($"{QaUsage}: options.required must be true or false");
        }
        else if (!options.IsUndefined() && !options.IsNull())
        {
            throw TypeError($"{QaUsage}: options must be an object such as {{ required: true }}");
        }

        try
        {
            _root.AddQualityCheck(name, async (scope, result, ct) =>
                Validator.IssuesFrom(await CallOnLoop(new ScopeFrame(scope, ct), check, () => [ToJs(result)], inline: false).ConfigureAwait(false), name), required);
        }
        catch (ArgumentException ex)
        {
            throw TypeError($"{QaUsage}: {ex.Message}");
        }

        return JsValue.Undefined;
    }

    private (List<Validator> Validators, Corrector? Correct, int MaxCorrections) ValidationOptions(JsValue options, string usage)
    {
        if (options is not ObjectInstance bag || options.IsCallable())
        {
            throw TypeError($"{usage}: options must be an object with a schema and/or checks, e.g. {{ schema: {{ type: \"object\" }}, checks: {{ total: (v) => v.total >= 0 }} }}");
        }

        foreach (var key in bag.GetOwnPropertyKeys(Types.String))
        {
            if (!ValidationKeys.Contains(key.ToString()))
            {
                throw TypeError($"{usage}: unknown option '{key}' (known: schema, checks, correct, maxCorrections)");
            }
        }

        var validators = new List<Validator>();
        if (ToJsonArgument(bag.Get("schema"), usage, "options.schema") is { } schema)
        {
            try
            {
                validators.Add(Validator.Schema(schema));
            }
            catch (ArgumentException ex)
            {
                throw TypeError($"{usage}: {ex.Message}");
            }
        }

        var checks = bag.Get("checks");
        if (!checks.IsUndefined() && !checks.IsNull())
        {
            foreach (var (name, body) in NamedFunctions(checks, usage, "options.checks"))
            {
                validators.Add(Validator.Predicate(name, async (scope, value, ct) =>
                    Validator.IssuesFrom(await CallOnLoop(new ScopeFrame(scope, ct), body, () => [ToJs(value)], inline: false).ConfigureAwait(false), name)));
            }
        }

        if (validators.Count == 0)
        {
            throw TypeError($"{usage}: give options.schema, options.checks or both");
        }

        Corrector? correct = null;
        var corrector = bag.Get("correct");
        if (corrector.IsCallable())
        {
            // The corrector runs in the scope of its `correct` step, so steps it starts nest under it.
            correct = (scope, value, issues, ct) => CallOnLoop(
                new ScopeFrame(scope, ct),
                corrector,
                () => [ToJs(value), ToJs(new JsonArray([.. issues.Select(i => JsonValue.Create(i))]))],
                inline: false);
        }
        else if (!corrector.IsUndefined() && !corrector.IsNull())
        {
            throw TypeError($"{usage}: options.correct must be a function(value, issues) returning the corrected value, or null when it cannot");
        }

        var maxCorrections = WorkflowScope.DefaultMaxCorrections;
        var max = bag.Get("maxCorrections");
        if (!max.IsUndefined() && !max.IsNull())
        {
            if (!max.IsNumber() || max.AsNumber() is var n && (n < 0 || n != Math.Floor(n) || n > int.MaxValue))
            {
                throw TypeError($"{usage}: options.maxCorrections must be a whole number, 0 or more");
            }

            maxCorrections = (int)max.AsNumber();
        }

        return (validators, correct, maxCorrections);
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
