using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Orchestrator.Core.Secrets;

/// <summary>
/// The secret values a host has handed out (connector credentials from the environment or a secrets file).
/// Everything that leaves the process for disk — the journal writer, the log sinks, the report writer — passes
/// its text through <see cref="Redact(string)"/> (text) or <see cref="RedactJson(string)"/> (data), so that a secret
/// echoed back by a server, printed by a process or logged by a script never lands in a file, however it got into
/// the text. Data keeps its shape: only the insides of JSON strings are masked, never a number or a key's quotes.
/// </summary>
internal sealed class SecretRegistry
{
    /// <summary>What a secret is replaced with.</summary>
    public const string Mask = "***";

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // Longest first, so that a secret containing another is replaced whole. Immutable, so readers need no lock.
    private ImmutableArray<string> _forms = [];

    public bool IsEmpty => _forms.IsEmpty;

    /// <summary>Values shorter than this are not secrets unless declared (<c>${secret:…}</c>): masking them would mangle ordinary text.</summary>
    public const int MinimumLength = 6;

    /// <summary>
    /// Registers a secret and the forms it takes once escaped in JSON (both encoders) and HTML. A value that is only
    /// <paramref name="declared"/> by where it came from (an environment variable) is a secret only if it could be
    /// one: at least <see cref="MinimumLength"/> characters and not a number (<c>PORT=8080</c> is configuration).
    /// </summary>
    public void Add(string value, bool declared = true)
    {
        if (string.IsNullOrEmpty(value) || (!declared && !CouldBeSecret(value)))
        {
            return;
        }

        string[] forms =
        [
            value,
            JsonEncodedText.Encode(value).ToString(),
            JsonSerializer.Serialize(value, Relaxed)[1..^1],
            WebUtility.HtmlEncode(value),
        ];
        ImmutableInterlocked.Update(ref _forms, current =>
            [.. current.Union(forms, StringComparer.Ordinal).OrderByDescending(f => f.Length).ThenBy(f => f, StringComparer.Ordinal)]);
    }

    /// <summary>The text with every registered secret replaced by <see cref="Mask"/>.</summary>
    public string Redact(string text)
    {
        var forms = _forms;
        foreach (var form in forms)
        {
            if (text.Contains(form, StringComparison.Ordinal))
            {
                text = text.Replace(form, Mask, StringComparison.Ordinal);
            }
        }

        return text;
    }

    /// <summary>
    /// JSON text with every secret inside its strings (values and keys) replaced by <see cref="Mask"/>; numbers, literals
    /// and the structure are never touched, so the result parses to the same shape. A string with escapes is decoded,
    /// masked and encoded again, so that a mask never splits an escape sequence.
    /// </summary>
    public string RedactJson(string json)
    {
        var forms = _forms;
        if (!forms.Any(f => json.Contains(f, StringComparison.Ordinal)))
        {
            return json;
        }

        var result = new System.Text.StringBuilder(json.Length);
        var done = 0;
        var i = 0;
        while ((i = json.IndexOf('"', i)) >= 0)
        {
            var end = EndOfString(json, i);
            var masked = MaskString(json.AsSpan(i, end - i + 1));
            if (masked is not null)
            {
                result.Append(json, done, i + 1 - done).Append(masked);
                done = end;
            }

            i = end + 1;
        }

        return done == 0 ? json : result.Append(json, done, json.Length - done).ToString();
    }

    /// <inheritdoc cref="RedactJson(string)"/>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(json))]
    public string? RedactJsonOrNull(string? json) => json is null ? null : RedactJson(json);

    /// <summary>The inside of a JSON string token (quotes included) with its secrets masked, or null if it has none.</summary>
    private string? MaskString(ReadOnlySpan<char> token)
    {
        var inside = token[1..^1];
        if (!inside.Contains('\\'))
        {
            var text = inside.ToString();
            var masked = Redact(text);
            return ReferenceEquals(masked, text) ? null : masked;
        }

        var value = JsonSerializer.Deserialize<string>(token)!;
        var redacted = Redact(value);
        return ReferenceEquals(redacted, value) ? null : JsonSerializer.Serialize(redacted)[1..^1];
    }

    /// <summary>The index of the quote that closes the JSON string opening at <paramref name="start"/>.</summary>
    private static int EndOfString(string json, int start)
    {
        var i = start + 1;
        while (true)
        {
            i = json.AsSpan(i).IndexOfAny('"', '\\') is var next and >= 0
                ? i + next
                : throw new FormatException("The JSON text ends inside a string.");
            if (json[i] == '"')
            {
                return i;
            }

            i += 2; // an escape: skip the character it escapes
        }
    }

    private static bool CouldBeSecret(string value) =>
        value.Length >= MinimumLength && !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    /// <inheritdoc cref="Redact(string)"/>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(text))]
    public string? RedactOrNull(string? text) => text is null ? null : Redact(text);
}
