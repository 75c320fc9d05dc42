using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Scripting;

/// <summary>Reads the DSL's JSON-shaped options (recovery chains, timeouts, severities) the same way for every language.</summary>
internal static class ScriptOptionParsing
{
    /// <summary>
    /// A chain from <c>"retry"</c>, <c>{ strategy: "retry", maxAttempts: 3 }</c>, or an array of those;
    /// every key but <c>strategy</c> is the strategy's options.
    /// </summary>
    public static RecoveryChain RecoveryChain(JsonNode? chain) => chain switch
    {
        null => Core.Workflow.RecoveryChain.None,
        JsonArray links => Core.Workflow.RecoveryChain.Of(links.Select(Link)),
        _ => Core.Workflow.RecoveryChain.Of([Link(chain)]),
    };

    /// <summary>
    /// A phase strategy from <c>{ name, agent, mode, concurrency, timeoutMs, recovery, minEffectiveness, master }</c>; unknown keys
    /// are refused so that a misspelt option does not silently fall back to a default.
    /// </summary>
    public static Core.Strategies.PhaseStrategy Strategy(JsonNode? node)
    {
        string[] known = ["name", "agent", "mode", "concurrency", "timeoutMs", "recovery", "minEffectiveness", "master"];
        if (node is not JsonObject o || o["name"] is not JsonValue name || name.GetValueKind() != System.Text.Json.JsonValueKind.String)
        {
            throw new ArgumentException($"a strategy must be an object with a name, such as {{ name: \"fast\", agent: \"shell\", mode: \"parallel\" }}, not {node?.ToJsonString() ?? "null"}");
        }

        if (o.Select(p => p.Key).FirstOrDefault(k => Array.IndexOf(known, k) < 0) is { } unknown)
        {
            throw new ArgumentException($"strategy '{name}': unknown option '{unknown}'; known: {string.Join(", ", known)}");
        }

        var strategy = name.GetValue<string>();
        return new Core.Strategies.PhaseStrategy
        {
            Name = strategy,
            Agent = Typed<string>(o, "agent", strategy, "a string"),
            Mode = Typed<string>(o, "mode", strategy, "a string") is { } mode ? Core.Strategies.PhaseStrategy.ParseMode(mode) : Core.Strategies.CoordinationMode.Sequential,
            Concurrency = o["concurrency"] is null ? 1 : Typed<int>(o, "concurrency", strategy, "a whole number"),
            Timeout = o["timeoutMs"] is { } ms ? Milliseconds(ms, "timeoutMs") : null,
            Recovery = o["recovery"] is { } chain ? RecoveryChain(chain) : null,
            MinEffectiveness = o["minEffectiveness"] is null ? 0 : Typed<double>(o, "minEffectiveness", strategy, "a number"),
            Master = Typed<string>(o, "master", strategy, "a string"),
        };
    }

    /// <summary>An option's value as <typeparamref name="T"/>; an option of another type is refused naming it.</summary>
    private static T? Typed<T>(JsonObject o, string key, string strategy, string what) => o[key] switch
    {
        null => default,
        JsonValue v when v.TryGetValue<T>(out var value) => value,
        var other => throw new ArgumentException($"strategy '{strategy}': '{key}' must be {what}, not {other.ToJsonString()}"),
    };

    public static TimeSpan Milliseconds(JsonNode value, string what)
    {
        var ms = value is JsonValue number && number.TryGetValue<double>(out var n) ? n : double.NaN;
        return ms is > 0 and < int.MaxValue
            ? TimeSpan.FromMilliseconds(ms)
            : throw new ArgumentException($"{what} must be a positive number of milliseconds, not {value.ToJsonString()}");
    }

    public static Severity Severity(string text) => Enum.TryParse<Severity>(text, ignoreCase: true, out var severity) && Enum.IsDefined(severity)
        ? severity
        : throw new ArgumentException($"unknown severity '{text}'; use critical, moderate or minor");

    /// <summary>A failure as a script's severity rule receives it.</summary>
    public static JsonObject Describe(StepFailure failure) => new()
    {
        ["stepId"] = failure.StepId,
        ["agent"] = failure.Agent,
        ["error"] = failure.Error,
        ["errorType"] = failure.ErrorType,
        ["reported"] = failure.Reported.ToString().ToLowerInvariant(),
    };

    private static RecoveryLink Link(JsonNode? link) => link switch
    {
        JsonValue name when name.TryGetValue<string>(out var strategy) && !string.IsNullOrWhiteSpace(strategy) => new RecoveryLink(strategy),
        JsonObject spec when spec["strategy"] is JsonValue s && s.TryGetValue<string>(out var strategy) && !string.IsNullOrWhiteSpace(strategy) =>
            new RecoveryLink(strategy, OptionsOf(spec)),
        _ => throw new ArgumentException($"a recovery link is a strategy name or {{ strategy: \"name\", ...options }}, not {link?.ToJsonString() ?? "null"}"),
    };

    private static JsonObject? OptionsOf(JsonObject spec)
    {
        var options = new JsonObject();
        foreach (var (key, value) in spec.Where(p => p.Key != "strategy"))
        {
            options[key] = value?.DeepClone();
        }

        return options.Count == 0 ? null : options;
    }
}
