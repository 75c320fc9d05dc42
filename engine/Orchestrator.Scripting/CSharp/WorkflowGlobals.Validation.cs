using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Core.Verbs;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Scripting.CSharp;

/// <summary>
/// Validation, auto-correction and quality checks for .csx workflows:
/// <c>await Validate("order", order, [Schema(orderSchema), Check("total", o => …)], correct: (o, issues) => …)</c>,
/// <c>ValidateResult(Schema(resultSchema))</c>, <c>Qa("has items", r => …, required: true)</c>.
/// A check returns true/false, an issue (a string), a list of issues, or null (valid), sync or async.
/// </summary>
public sealed partial class WorkflowGlobals
{
    /// <summary>A JSON Schema validator from the schema's JSON text; a schema that does not parse or is not a valid schema throws.</summary>
    public Validator Schema(string schemaJson, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(schemaJson);
        JsonNode? schema;
        try
        {
            schema = JsonNode.Parse(schemaJson);
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"the schema is not JSON: {ex.Message}", nameof(schemaJson), ex);
        }

        return Validator.Schema(schema ?? throw new ArgumentException("the schema is JSON null", nameof(schemaJson)), name);
    }

    /// <summary>A JSON Schema validator; <paramref name="name"/> defaults to the schema's <c>title</c>, else <c>schema</c>.</summary>
    public Validator Schema(JsonNode schema, string? name = null) => Validator.Schema(schema, name);

    /// <summary>A named check of the value: returns true/false, an issue, a list of issues, or null (valid). Its issues are prefixed with its name.</summary>
    public Validator Check<T>(string name, Func<JsonNode?, Task<T>> check)
    {
        ArgumentNullException.ThrowIfNull(check);
        return Validator.Predicate(name, async (scope, value, _) => Validator.IssuesFrom(await InScope(scope, () => check(value)).ConfigureAwait(false), name));
    }

    /// <inheritdoc cref="Check{T}(string, Func{JsonNode, Task{T}})"/>
    public Validator Check<T>(string name, Func<JsonNode?, T> check)
    {
        ArgumentNullException.ThrowIfNull(check);
        return Check(name, value => Task.FromResult(check(value)));
    }

    /// <summary>Validates <paramref name="value"/> as the step <paramref name="name"/>; returns it, or fails the step listing the issues.</summary>
    public Task<JsonNode?> Validate(string name, object? value, params Validator[] validators) =>
        Scope.ValidateAsync(name, ToJson(value), validators, correct: null, cancellationToken: CancellationToken);

    /// <summary>
    /// Validates <paramref name="value"/> as the step <paramref name="name"/>; when it has issues, <paramref name="correct"/>
    /// gets it and the issues (as the step <c>correct</c>) and returns a corrected value (null: cannot), which is validated
    /// again, at most <paramref name="maxCorrections"/> times. Returns the valid value, or fails the step listing the issues.
    /// </summary>
    public Task<JsonNode?> Validate<T>(string name, object? value, IEnumerable<Validator> validators, Func<JsonNode?, IReadOnlyList<string>, Task<T>> correct, int maxCorrections = VerbDefaults.MaxCorrections) =>
        Scope.ValidateAsync(name, ToJson(value), [.. validators], ToCorrector(correct), maxCorrections, CancellationToken);

    /// <inheritdoc cref="Validate{T}(string, object, IEnumerable{Validator}, Func{JsonNode, IReadOnlyList{string}, Task{T}}, int)"/>
    public Task<JsonNode?> Validate<T>(string name, object? value, IEnumerable<Validator> validators, Func<JsonNode?, IReadOnlyList<string>, T> correct, int maxCorrections = VerbDefaults.MaxCorrections) =>
        Scope.ValidateAsync(name, ToJson(value), [.. validators], ToCorrector(AsyncCorrector(correct)), maxCorrections, CancellationToken);

    /// <summary>Validates the run's result once the script returns (the step <c>result</c>); an invalid result fails the run.</summary>
    public void ValidateResult(params Validator[] validators) => _root.ValidateResult(validators);

    /// <summary>Validates the run's result once the script returns, correcting it with <paramref name="correct"/> as <see cref="Validate{T}(string, object, IEnumerable{Validator}, Func{JsonNode, IReadOnlyList{string}, Task{T}}, int)"/> does.</summary>
    public void ValidateResult<T>(IEnumerable<Validator> validators, Func<JsonNode?, IReadOnlyList<string>, Task<T>> correct, int maxCorrections = VerbDefaults.MaxCorrections) =>
        _root.ValidateResult([.. validators], ToCorrector(correct), maxCorrections);

    /// <inheritdoc cref="ValidateResult{T}(IEnumerable{Validator}, Func{JsonNode, IReadOnlyList{string}, Task{T}}, int)"/>
    public void ValidateResult<T>(IEnumerable<Validator> validators, Func<JsonNode?, IReadOnlyList<string>, T> correct, int maxCorrections = VerbDefaults.MaxCorrections) =>
        _root.ValidateResult([.. validators], ToCorrector(AsyncCorrector(correct)), maxCorrections);

    /// <summary>
    /// A quality check of the run's result, run once the script returns as the step <c>qa/&lt;name&gt;</c>: returns
    /// true/false, an issue, a list of issues, or null (passed). Its verdict goes into the handoff package and the
    /// report; a failing check fails the run only if <paramref name="required"/>.
    /// </summary>
    public void Qa<T>(string name, Func<JsonNode?, Task<T>> check, bool required = VerbDefaults.QaRequired)
    {
        ArgumentNullException.ThrowIfNull(check);
        _root.AddQualityCheck(name, async (scope, result, _) => Validator.IssuesFrom(await InScope(scope, () => check(result)).ConfigureAwait(false), name), required);
    }

    /// <inheritdoc cref="Qa{T}(string, Func{JsonNode, Task{T}}, bool)"/>
    public void Qa<T>(string name, Func<JsonNode?, T> check, bool required = VerbDefaults.QaRequired)
    {
        ArgumentNullException.ThrowIfNull(check);
        Qa(name, result => Task.FromResult(check(result)), required);
    }

    private static Func<JsonNode?, IReadOnlyList<string>, Task<T>> AsyncCorrector<T>(Func<JsonNode?, IReadOnlyList<string>, T> correct)
    {
        ArgumentNullException.ThrowIfNull(correct);
        return (value, issues) => Task.FromResult(correct(value, issues));
    }

    private Corrector ToCorrector<T>(Func<JsonNode?, IReadOnlyList<string>, Task<T>> correct)
    {
        ArgumentNullException.ThrowIfNull(correct);

        // The corrector runs in the scope of its `correct` step, so agents it calls nest under it.
        return (scope, value, issues, _) => InScope(scope, () => correct(value, issues));
    }
}
