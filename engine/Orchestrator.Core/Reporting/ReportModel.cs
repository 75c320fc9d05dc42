using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Scriban.Runtime;

namespace Orchestrator.Core.Reporting;

/// <summary>
/// Builds what a report template sees (documented in <c>Reporting/README.md</c>): plain Scriban objects
/// with snake_case members for the run and its steps, and the handoff data converted key for key, so
/// that JSON names reach templates exactly as the script wrote them. A fresh model is built for every
/// render, so nothing a template assigns can leak into the next one.
/// </summary>
internal static class ReportModel
{
    /// <summary>How deep <c>to_json</c> follows nested values before it gives up (a template can build cycles).</summary>
    public const int MaxJsonDepth = 64;

    private static readonly JsonSerializerOptions PrettyJson = new()
    {
        WriteIndented = true,
        IndentSize = 2,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = MaxJsonDepth * 2,
    };

    public static ScriptObject Build(HandoffPackage package, DateTimeOffset generatedAt)
    {
        ArgumentNullException.ThrowIfNull(package);
        var digest = package.Digest;
        var steps = TreeOrder(package.Steps);
        var stepObjects = new ScriptArray(steps.Count);
        var failedSteps = package.Steps.Concat(digest.Failures).Where(s => s.Status == RunStatus.Failed).ToList();
        var failedIds = new HashSet<string>(failedSteps.Select(s => s.Id), StringComparer.Ordinal);
        var parentsOfFailures = new HashSet<string>(failedSteps.Where(s => s.ParentId is not null).Select(s => s.ParentId!), StringComparer.Ordinal);
        bool IsRootCause(StepRecord step) => failedIds.Contains(step.Id) && !parentsOfFailures.Contains(step.Id);
        foreach (var (step, depth) in steps)
        {
            stepObjects.Add(Step(step, depth, IsRootCause(step)));
        }

        // Failures in start order: all of a small run's; of a big one, the first FailureLimit.
        var failed = new ScriptArray();
        var listedFailures = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (step, depth) in steps.Where(s => s.Step.Status == RunStatus.Failed).Concat(TreeOrder(digest.Failures)))
        {
            if (listedFailures.Add(step.Id))
            {
                failed.Add(Step(step, depth, IsRootCause(step)));
            }
        }

        var counts = new ScriptObject();
        foreach (var status in Enum.GetValues<RunStatus>())
        {
            counts[Status(status)] = digest.Counts.GetValueOrDefault(status);
        }

        counts["total"] = digest.Total;

        var groups = new ScriptArray(digest.Groups.Count);
        foreach (var group in digest.Groups)
        {
            groups.Add(Group(group));
        }

        var qa = new ScriptArray();
        foreach (var check in package.Qa)
        {
            qa.Add(Qa(check));
        }

        var model = new ScriptObject
        {
            ["title"] = string.IsNullOrWhiteSpace(package.Title) ? ScriptName(package.Run.Script) : package.Title,
            ["handoff_name"] = package.Title,
            ["run"] = Run(package.Run),
            ["steps"] = stepObjects,
            ["steps_omitted"] = digest.StepsOmitted,
            ["step_groups"] = groups,
            ["failed_steps"] = failed,
            ["failures_omitted"] = digest.FailuresOmitted,
            ["step_counts"] = counts,
            ["qa"] = qa,
            ["qa_failed"] = (long)package.Qa.Count(c => !c.Passed),
            ["strategies"] = Outputs(digest.Notable, "strategy"),
            ["adaptations"] = Outputs(digest.Notable, "adaptation"),
            ["anomalies"] = Outputs(digest.Notable, "anomaly"),
            ["recommendations"] = Outputs(digest.Notable, "recommendation"),
            ["approvals"] = Outputs(digest.Notable, "decision"),
            ["goals"] = Outputs(digest.Notable, "goal-check") is { Count: > 0 } checks ? checks[^1] : null,
            ["data"] = FromJson(package.Data),
            ["data_json"] = Json(package.Data),
            ["data_is_flat"] = IsFlat(package.Data),
            ["generated_at"] = Timestamp(generatedAt),
        };
        model.Import("to_json", new Func<object?, string>(ToJson));
        model.Import("format_ms", new Func<object?, string>(FormatMs));
        model.Import("md_escape", new Func<object?, string>(MarkdownEscape));
        model.Import("md_code", new Func<object?, string?, string>(MarkdownCode));
        return model;
    }

    /// <summary>The file name of a script path, whichever separator it was written with.</summary>
    public static string ScriptName(string script)
    {
        var name = script[(script.LastIndexOfAny(['/', '\\']) + 1)..];
        return name.Length == 0 ? script : name;
    }

    /// <summary>A duration (or any number) in milliseconds with one decimal, invariant culture; empty for null.</summary>
    public static string FormatMs(object? value) => value switch
    {
        null => "",
        string s when s.Length == 0 => "",
        IConvertible c => Convert.ToDouble(c, CultureInfo.InvariantCulture).ToString("F1", CultureInfo.InvariantCulture),
        _ => throw new ArgumentException($"format_ms expects a number, not {value.GetType().Name}"),
    };

    /// <summary>Makes text safe inside a Markdown table cell or heading: escapes pipes and '&lt;', turns line breaks into &lt;br&gt;.</summary>
    public static string MarkdownEscape(object? value)
    {
        var text = ToText(value);
        if (text.Length == 0)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 8);
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '|':
                    builder.Append("\\|");
                    break;
                case '<':
                    builder.Append("&lt;");
                    break;
                case '\r':
                    if (i + 1 < text.Length && text[i + 1] == '\n')
                    {
                        i++;
                    }

                    builder.Append("<br>");
                    break;
                case '\n':
                    builder.Append("<br>");
                    break;
                default:
                    builder.Append(text[i]);
                    break;
            }
        }

        return builder.ToString();
    }

    /// <summary>A fenced Markdown code block whose fence is longer than any backtick run in the text; empty for null.</summary>
    public static string MarkdownCode(object? value, string? language)
    {
        if (value is null)
        {
            return "";
        }

        var text = ToText(value).Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n');
        int longest = 0, run = 0;
        foreach (var c in text)
        {
            run = c == '`' ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }

        var fence = new string('`', Math.Max(3, longest + 1));
        return fence + (language ?? "") + "\n" + text + "\n" + fence;
    }

    /// <summary>Pretty JSON (two-space indent) of any model value: JSON data, strings, numbers, objects and arrays built in a template.</summary>
    public static string ToJson(object? value) => ToJsonNode(value, 0)?.ToJsonString(PrettyJson) ?? "null";

    private static ScriptObject Run(RunRecord run) => new()
    {
        ["id"] = run.Id,
        ["script"] = run.Script,
        ["script_name"] = ScriptName(run.Script),
        ["script_hash"] = run.ScriptHash,
        ["language"] = run.Language,
        ["engine_version"] = run.EngineVersion,
        ["status"] = Status(run.Status),
        ["input"] = FromJson(run.Input),
        ["input_json"] = Json(run.Input),
        ["result"] = FromJson(run.Result),
        ["result_json"] = Json(run.Result),
        ["error"] = run.Error,
        ["started_at"] = Timestamp(run.StartedAt),
        ["ended_at"] = run.EndedAt is { } ended ? Timestamp(ended) : null,
        ["duration_ms"] = run.DurationMs,
        ["report"] = run.Report,
        ["final_hash"] = run.FinalHash,
    };

    private static ScriptObject Step(StepRecord step, int depth, bool isRootCause) => new()
    {
        ["id"] = step.Id,
        ["parent_id"] = step.ParentId,
        ["name"] = step.Name,
        ["kind"] = step.Kind,
        ["agent"] = step.Agent,
        ["status"] = Status(step.Status),
        ["attempt"] = (long)step.Attempt,
        ["input"] = FromJson(step.Input),
        ["input_json"] = Json(step.Input),
        ["output"] = FromJson(step.Output),
        ["output_json"] = Json(step.Output),
        ["input_chars"] = step.InputChars,
        ["output_chars"] = step.OutputChars,
        ["error"] = step.Error,
        ["seq"] = step.Seq,
        ["started_at"] = Timestamp(step.StartedAt),
        ["ended_at"] = step.EndedAt is { } ended ? Timestamp(ended) : null,
        ["duration_ms"] = step.DurationMs,
        ["depth"] = (long)depth,
        ["is_root_cause"] = isRootCause,
    };

    private static ScriptObject Group(StepGroup group)
    {
        var item = new ScriptObject
        {
            ["pattern"] = group.Pattern,
            ["kind"] = group.Kind,
            ["agent"] = group.Agent,
            ["count"] = group.Count,
            ["p50_ms"] = group.P50Ms,
            ["p95_ms"] = group.P95Ms,
            ["max_ms"] = group.MaxMs,
        };
        foreach (var status in Enum.GetValues<RunStatus>())
        {
            item[Status(status)] = group.Statuses.GetValueOrDefault(status);
        }

        return item;
    }

    /// <summary>What the engine decided or noticed (strategy choices, adaptations, anomalies, recommendations): the outputs of those steps, in order.</summary>
    private static ScriptArray Outputs(IReadOnlyList<StepRecord> steps, string kind)
    {
        var outputs = new ScriptArray();
        foreach (var step in steps.Where(s => s.Kind == kind && s.Output is JsonObject).OrderBy(s => s.Seq))
        {
            outputs.Add(FromJson(step.Output));
        }

        return outputs;
    }

    private static ScriptObject Qa(QaCheckResult check)
    {
        var issues = new ScriptArray(check.Issues.Count);
        foreach (var issue in check.Issues)
        {
            issues.Add(issue);
        }

        return new ScriptObject
        {
            ["name"] = check.Name,
            ["step_id"] = check.StepId,
            ["passed"] = check.Passed,
            ["required"] = check.Required,
            ["issues"] = issues,
            ["status"] = Status(check.Status),
        };
    }

    private static string Status(RunStatus status) => status.ToString().ToLowerInvariant();

    /// <summary>ISO 8601 with milliseconds; UTC is written with a Z.</summary>
    private static string Timestamp(DateTimeOffset at) => at.Offset == TimeSpan.Zero
        ? at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)
        : at.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);

    private static string? Json(JsonNode? node) => node?.ToJsonString(PrettyJson);

    /// <summary>Steps with each one followed by its children (siblings in start order), and their nesting depth.</summary>
    private static List<(StepRecord Step, int Depth)> TreeOrder(IReadOnlyList<StepRecord> steps)
    {
        var ids = new HashSet<string>(steps.Select(s => s.Id), StringComparer.Ordinal);
        var children = new Dictionary<string, List<StepRecord>>(StringComparer.Ordinal);
        var roots = new List<StepRecord>();
        foreach (var step in steps)
        {
            if (step.ParentId is { } parent && parent != step.Id && ids.Contains(parent))
            {
                if (!children.TryGetValue(parent, out var list))
                {
                    children[parent] = list = [];
                }

                list.Add(step);
            }
            else
            {
                roots.Add(step);
            }
        }

        var ordered = new List<(StepRecord, int)>(steps.Count);
        var visited = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<(StepRecord Step, int Depth)>();
        void Visit(StepRecord root)
        {
            stack.Push((root, 0));
            while (stack.Count > 0)
            {
                var (step, depth) = stack.Pop();
                if (!visited.Add(step.Id))
                {
                    continue;
                }

                ordered.Add((step, depth));
                if (children.TryGetValue(step.Id, out var list))
                {
                    for (var i = list.Count - 1; i >= 0; i--)
                    {
                        stack.Push((list[i], depth + 1));
                    }
                }
            }
        }

        foreach (var root in roots)
        {
            Visit(root);
        }

        // Steps caught in a parent cycle (a corrupt journal) still show, at the top level.
        foreach (var step in steps.Where(s => !visited.Contains(s.Id)).ToList())
        {
            Visit(step);
        }

        return ordered;
    }

    private static bool IsFlat(JsonNode? node) =>
        node is JsonObject obj && obj.Count > 0 && obj.All(p => p.Value is null or JsonValue);

    /// <summary>Converts JSON to Scriban values, keeping every object key exactly as written.</summary>
    private static object? FromJson(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject obj:
                var result = new ScriptObject(obj.Count);
                foreach (var (key, value) in obj)
                {
                    result[key] = FromJson(value);
                }

                return result;
            case JsonArray array:
                var items = new ScriptArray(array.Count);
                foreach (var item in array)
                {
                    items.Add(FromJson(item));
                }

                return items;
            default:
                var scalar = node.AsValue();
                switch (scalar.GetValueKind())
                {
                    case JsonValueKind.String:
                        // A node built in code may hold a DateTime, a Guid, a char...: take its JSON text then.
                        return scalar.TryGetValue<string>(out var str) ? str : JsonSerializer.Deserialize<string>(scalar.ToJsonString());
                    case JsonValueKind.True:
                        return true;
                    case JsonValueKind.False:
                        return false;
                    case JsonValueKind.Number:
                        var text = scalar.ToJsonString();
                        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
                        {
                            return integer;
                        }

                        if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var exact) && !text.Contains('e', StringComparison.OrdinalIgnoreCase))
                        {
                            return exact;
                        }

                        return double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
                    default:
                        return null;
                }
        }
    }

    private static JsonNode? ToJsonNode(object? value, int depth)
    {
        if (depth > MaxJsonDepth)
        {
            throw new InvalidOperationException($"to_json: the value is nested more than {MaxJsonDepth} levels deep (does it contain itself?)");
        }

        switch (value)
        {
            case null:
                return null;
            case JsonNode node:
                return node.DeepClone();
            case string s:
                return JsonValue.Create(s);
            case bool b:
                return JsonValue.Create(b);
            case double d when double.IsFinite(d):
                return JsonValue.Create(d);
            case float f when float.IsFinite(f):
                return JsonValue.Create(f);
            case double or float:
                return JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture));
            case decimal m:
                return JsonValue.Create(m);
            case sbyte or byte or short or ushort or int or uint or long:
                return JsonValue.Create(Convert.ToInt64(value, CultureInfo.InvariantCulture));
            case ulong u:
                return JsonValue.Create(u);
            case IDictionary<string, object?> dictionary:
                var obj = new JsonObject();
                foreach (var (key, item) in dictionary)
                {
                    obj[key] = ToJsonNode(item, depth + 1);
                }

                return obj;
            case IDictionary legacy:
                var fromLegacy = new JsonObject();
                foreach (DictionaryEntry entry in legacy)
                {
                    fromLegacy[Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? ""] = ToJsonNode(entry.Value, depth + 1);
                }

                return fromLegacy;
            case IEnumerable sequence:
                var array = new JsonArray();
                foreach (var item in sequence)
                {
                    array.Add(ToJsonNode(item, depth + 1));
                }

                return array;
            default:
                return JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture));
        }
    }

    private static string ToText(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
