using System.Collections.Immutable;
using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Orchestrator.Core.Secrets;

/// <summary>
/// The secret values a host has handed out (connector credentials from the environment or a secrets file).
/// Everything that leaves the process for disk — the journal writer, the log sinks, the report writer — passes
/// its text through <see cref="Redact(string?)"/>, so that a secret echoed back by a server, printed by a process
/// or logged by a script never lands in a file, however it got into the text.
/// </summary>
internal sealed class SecretRegistry
{
    /// <summary>What a secret is replaced with.</summary>
    public const string Mask = "***";

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // Longest first, so that a secret containing another is replaced whole. Immutable, so readers need no lock.
    private ImmutableArray<string> _forms = [];

    public bool IsEmpty => _forms.IsEmpty;

    /// <summary>Registers a secret and the forms it takes once escaped in JSON (both encoders) and HTML.</summary>
    public void Add(string value)
    {
        if (string.IsNullOrEmpty(value))
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

    /// <inheritdoc cref="Redact(string)"/>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(text))]
    public string? RedactOrNull(string? text) => text is null ? null : Redact(text);
}
