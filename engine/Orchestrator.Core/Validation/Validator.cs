using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Orchestrator.Core.Workflow;

/// <summary>
/// One rule a value must satisfy: a JSON schema or a predicate. A rule reports issues, one line each; none means valid.
/// Issues name where they are: a schema's by the value's JSON pointer (<c>/items/0/price: …</c>), a predicate's by its name.
/// </summary>
public sealed class Validator
{
    private readonly Func<WorkflowScope, JsonNode?, CancellationToken, Task<IReadOnlyList<string>>> _check;

    private Validator(string name, string kind, Func<WorkflowScope, JsonNode?, CancellationToken, Task<IReadOnlyList<string>>> check)
    {
        Name = name;
        Kind = kind;
        _check = check;
    }

    /// <summary>What the journal and the issues call the rule.</summary>
    public string Name { get; }

    /// <summary><c>schema</c> or <c>predicate</c>.</summary>
    public string Kind { get; }

    /// <summary>
    /// A JSON Schema (draft 2020-12 unless it says otherwise in <c>$schema</c>). The schema is checked here, so a
    /// broken one (an unknown keyword, a wrong keyword type) is an <see cref="ArgumentException"/> at the call, not a
    /// failed step. <paramref name="name"/> defaults to the schema's <c>title</c>, else <c>schema</c>.
    /// </summary>
    public static Validator Schema(JsonNode schema, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(schema);
        JsonSchema built;
        try
        {
            // A registry of its own, so that two schemas with the same $id (or two runs) never clash in the global one.
            built = JsonSchema.Build(JsonSerializer.SerializeToElement(schema), new BuildOptions { SchemaRegistry = new SchemaRegistry() });
        }
        catch (Exception ex) when (ex is JsonSchemaException or JsonException or InvalidOperationException or ArgumentException)
        {
            throw new ArgumentException($"invalid JSON schema: {ex.Message}", nameof(schema), ex);
        }

        var title = schema is JsonObject o && o["title"] is JsonValue t && t.TryGetValue<string>(out var text) && !string.IsNullOrWhiteSpace(text) ? text : null;
        // JsonSchema.Net does not document evaluating one schema from several threads as safe, and parallel branches may share a validator.
        var gate = new Lock();
        return new Validator(name ?? title ?? "schema", "schema", (_, value, _) =>
        {
            lock (gate)
            {
                return Task.FromResult<IReadOnlyList<string>>(Evaluate(built, value));
            }
        });
    }

    /// <summary>A predicate that returns the value's issues (empty when it is valid); each issue is prefixed with <paramref name="name"/>.</summary>
    public static Validator Predicate(string name, Func<JsonNode?, Task<IReadOnlyList<string>>> check)
    {
        ArgumentNullException.ThrowIfNull(check);
        return Predicate(name, (_, value, _) => check(value));
    }

    /// <summary>
    /// A predicate that gets the scope of the validate step, so that steps it runs (an agent that reviews the value)
    /// nest under it; it returns the value's issues, each prefixed with <paramref name="name"/>.
    /// </summary>
    public static Validator Predicate(string name, Func<WorkflowScope, JsonNode?, CancellationToken, Task<IReadOnlyList<string>>> check)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(check);
        return new Validator(name, "predicate", async (scope, value, ct) =>
        {
            var issues = await check(scope, value?.DeepClone(), ct).ConfigureAwait(false) ?? [];
            return [.. issues.Where(i => !string.IsNullOrWhiteSpace(i)).Select(i => $"{name}: {i}")];
        });
    }

    /// <summary>
    /// What a script's check returned, as issues: null, <c>true</c> or an empty string or list mean valid; <c>false</c>
    /// is one issue ("failed"); a string is one issue; a list holds issues (strings, or any JSON, shown as JSON).
    /// </summary>
    internal static IReadOnlyList<string> IssuesFrom(JsonNode? verdict, string check)
    {
        switch (verdict)
        {
            case null:
                return [];
            case JsonArray list:
                return [.. list.Where(i => i is not null).Select(i => i is JsonValue v && v.TryGetValue<string>(out var s) ? s : i!.ToJsonString()).Where(s => s.Length > 0)];
            case JsonValue value when value.TryGetValue<bool>(out var ok):
                return ok ? [] : ["failed"];
            case JsonValue value when value.TryGetValue<string>(out var issue):
                return issue.Length == 0 ? [] : [issue];
            default:
                throw new InvalidOperationException(
                    $"check '{check}' returned {verdict.ToJsonString()}; a check returns true/false, an issue (a string), a list of issues, or null");
        }
    }

    internal Task<IReadOnlyList<string>> CheckAsync(WorkflowScope scope, JsonNode? value, CancellationToken cancellationToken) =>
        _check(scope, value, cancellationToken);

    internal JsonObject Describe() => new() { ["name"] = Name, ["kind"] = Kind };

    private static List<string> Evaluate(JsonSchema schema, JsonNode? value)
    {
        var instance = value is null ? JsonSerializer.SerializeToElement<object?>(null) : JsonSerializer.SerializeToElement(value);
        var results = schema.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List, Culture = CultureInfo.InvariantCulture });
        if (results.IsValid)
        {
            return [];
        }

        var issues = new List<string>();
        foreach (var detail in results.Details is { Count: > 0 } details ? details : [results])
        {
            if (detail.Errors is null)
            {
                continue;
            }

            var at = detail.InstanceLocation.ToString();
            foreach (var (_, message) in detail.Errors)
            {
                var issue = $"{(at.Length == 0 ? "(root)" : at)}: {message}";
                if (!issues.Contains(issue))
                {
                    issues.Add(issue);
                }
            }
        }

        // A schema that fails without saying why (a bare false) still has to name an issue.
        return issues.Count > 0 ? issues : ["(root): does not match the schema"];
    }
}
