using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Core.Verbs;

/// <summary>What an option of a DSL verb takes.</summary>
public enum OptionKind
{
    /// <summary>A non-empty string.</summary>
    Text,

    /// <summary>A whole number, within the option's bounds.</summary>
    Integer,

    /// <summary>A number, within the option's bounds.</summary>
    Number,

    Boolean,

    /// <summary>A positive number of milliseconds (<c>timeoutMs</c>); C# takes a <see cref="TimeSpan"/> named without the <c>Ms</c>.</summary>
    Milliseconds,

    /// <summary>One of the option's choices.</summary>
    Choice,

    /// <summary>Script code: a function in JavaScript, a delegate in C#; the front end checks it.</summary>
    Function,

    /// <summary>Named script code: an object whose properties are functions (JavaScript).</summary>
    Functions,

    /// <summary>Any JSON value the verb interprets itself (a schema, a recovery chain, strategies).</summary>
    Json,
}

/// <summary>
/// One option of a DSL verb, defined once for both languages: its JavaScript name (C# names the parameter the same,
/// <see cref="CSharpName"/>), what it takes, its default and its bounds. <see cref="Read"/> is the one validation.
/// </summary>
public sealed record VerbOption(string Name, OptionKind Kind, string Description)
{
    /// <summary>The value when the script gives none: an <c>int</c>, <c>double</c>, <c>bool</c>, <c>string</c> or null.</summary>
    public object? Default { get; init; }

    public double? Min { get; init; }

    public double? Max { get; init; }

    public IReadOnlyList<string> Choices { get; init; } = [];

    /// <summary>The option is JavaScript's way of saying what C# says with another construct; the reason says which.</summary>
    public string? JavaScriptOnly { get; init; }

    /// <summary>The C# parameter: the same name, without the <c>Ms</c> of a duration (<c>timeoutMs</c> is <c>timeout</c>).</summary>
    public string CSharpName => Kind == OptionKind.Milliseconds && Name.EndsWith("Ms", StringComparison.Ordinal) ? Name[..^2] : Name;

    /// <summary>What the option takes, in words, for usage text and errors.</summary>
    public string Expects => Kind switch
    {
        OptionKind.Text => "a non-empty string",
        OptionKind.Integer when Min is 0 => "a whole number, 0 or more",
        OptionKind.Integer when Min is { } min => string.Create(CultureInfo.InvariantCulture, $"a whole number of at least {min}"),
        OptionKind.Integer => "a whole number",
        OptionKind.Number when Min is { } low && Max is { } high => string.Create(CultureInfo.InvariantCulture, $"a number from {low} to {high}"),
        OptionKind.Number when Min is { } low => string.Create(CultureInfo.InvariantCulture, $"a number of at least {low}"),
        OptionKind.Number => "a number",
        OptionKind.Boolean => "true or false",
        OptionKind.Milliseconds => "a positive number of milliseconds",
        OptionKind.Choice => Choices.Count < 2 ? '"' + string.Join("", Choices) + '"' : string.Join(", ", Choices.SkipLast(1).Select(c => '"' + c + '"')) + " or \"" + Choices[^1] + '"',
        OptionKind.Function => "a function",
        OptionKind.Functions => "an object whose properties are functions",
        _ => "JSON",
    };

    /// <summary>
    /// The option's value from the script's <paramref name="value"/> (JSON null or absent: the default), as an <c>int</c>,
    /// <c>double</c>, <c>bool</c>, <c>string</c>, <see cref="TimeSpan"/> or <see cref="JsonNode"/>; a value of the wrong
    /// kind or out of bounds is refused naming the option.
    /// </summary>
    public object? Read(JsonNode? value, string usage)
    {
        if (value is null)
        {
            return Default;
        }

        if (Kind is OptionKind.Json or OptionKind.Function or OptionKind.Functions)
        {
            return value;
        }

        var kind = value.GetValueKind();
        object? read = Kind switch
        {
            OptionKind.Text when kind == JsonValueKind.String && value.GetValue<string>() is { Length: > 0 } text && !string.IsNullOrWhiteSpace(text) => text,
            OptionKind.Choice when kind == JsonValueKind.String && Choices.Contains(value.GetValue<string>(), StringComparer.Ordinal) => value.GetValue<string>(),
            OptionKind.Boolean when kind is JsonValueKind.True or JsonValueKind.False => kind == JsonValueKind.True,
            OptionKind.Integer when kind == JsonValueKind.Number && Number(value) is var n && n == Math.Floor(n) && n is >= int.MinValue and <= int.MaxValue && InBounds(n) => (int)n,
            OptionKind.Number when kind == JsonValueKind.Number && Number(value) is var n && double.IsFinite(n) && InBounds(n) => n,
            OptionKind.Milliseconds when kind == JsonValueKind.Number && Number(value) is var ms && ms is > 0 and < int.MaxValue => TimeSpan.FromMilliseconds(ms),
            _ => null,
        };
        return read ?? throw new ArgumentException($"{usage}: options.{Name} must be {Expects}, not {value.ToJsonString()}");
    }

    // A number as JSON writes it: the value may hold an int or a double, whichever the script gave.
    private static double Number(JsonNode value) => double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture);

    private bool InBounds(double n) => (Min is not { } min || n >= min) && (Max is not { } max || n <= max);
}
