using System.Text.Json.Nodes;

namespace Orchestrator.Core.Verbs;

/// <summary>
/// A DSL verb, defined once for both languages: its JavaScript name (C#'s is <see cref="CSharpName"/>), its usage text,
/// its options with their defaults, and how its options are read and checked. The C# globals and the JavaScript
/// bindings are thin layers over it; <see cref="DslVerbs.All"/> lists every verb.
/// </summary>
public sealed record VerbDefinition(string Name, string Usage, string Summary)
{
    public IReadOnlyList<VerbOption> Options { get; init; } = [];

    /// <summary>Where C# has it, when that is not a member named <see cref="CSharpName"/>: e.g. <c>Agent.RunAsync</c>, a member of what <c>Agent</c> returns.</summary>
    public string? CSharpPath { get; init; }

    /// <summary>How many arguments the JavaScript function declares (its <c>length</c>).</summary>
    public int Arity { get; init; }

    /// <summary>A value rather than a function (<c>mcp</c>); its members are the calls.</summary>
    public bool IsObject { get; init; }

    public string CSharpName => char.ToUpperInvariant(Name[0]) + Name[1..];

    public VerbOption Option(string name) =>
        Options.FirstOrDefault(o => o.Name == name) ?? throw new ArgumentException($"{Usage}: no option '{name}'", nameof(name));

    /// <summary>Refuses an option this verb does not have, naming the ones it has, so a misspelt option never falls back to a default.</summary>
    public void CheckKeys(IEnumerable<string> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.FirstOrDefault(k => Options.All(o => o.Name != k)) is { } unknown)
        {
            throw new ArgumentException($"{Usage}: unknown option '{unknown}'; known: {string.Join(", ", Options.Select(o => o.Name))}");
        }
    }

    /// <summary>
    /// Reads the script's options: unknown keys are refused, each value is checked by its option, and options not given
    /// take their defaults. Function options are left to the front end, which holds the script's code.
    /// </summary>
    public VerbArguments Read(JsonObject? options)
    {
        options ??= [];
        CheckKeys(options.Select(p => p.Key));
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var option in Options)
        {
            values[option.Name] = option.Read(options[option.Name], Usage);
        }

        return new VerbArguments(this, values);
    }
}

/// <summary>A verb's options as read: each given value checked, the rest at their defaults.</summary>
public sealed class VerbArguments
{
    private readonly VerbDefinition _verb;
    private readonly IReadOnlyDictionary<string, object?> _values;

    internal VerbArguments(VerbDefinition verb, IReadOnlyDictionary<string, object?> values)
    {
        _verb = verb;
        _values = values;
    }

    public T Get<T>(string name) => _values.TryGetValue(name, out var value)
        ? value is T typed ? typed : throw new InvalidOperationException($"{_verb.Usage}: option '{name}' is {value?.GetType().Name ?? "null"}, not {typeof(T).Name}")
        : throw new ArgumentException($"{_verb.Usage}: no option '{name}'", nameof(name));

    public T? Optional<T>(string name) where T : struct => _values.TryGetValue(name, out var value)
        ? value is null ? null : value is T typed ? typed : throw new InvalidOperationException($"{_verb.Usage}: option '{name}' is {value.GetType().Name}, not {typeof(T).Name}")
        : throw new ArgumentException($"{_verb.Usage}: no option '{name}'", nameof(name));

    public string? Text(string name) => _values.TryGetValue(name, out var value)
        ? value as string
        : throw new ArgumentException($"{_verb.Usage}: no option '{name}'", nameof(name));

    public JsonNode? Json(string name) => _values.TryGetValue(name, out var value)
        ? value as JsonNode
        : throw new ArgumentException($"{_verb.Usage}: no option '{name}'", nameof(name));
}
