using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Orchestrator.Core.Secrets;

/// <summary>A secret reference cannot be resolved, or a secrets file is unreadable; the message names the reference and file.</summary>
internal sealed class SecretException(string message) : Exception(message);

/// <summary>
/// Resolves <c>${env:NAME}</c> (an environment variable) and <c>${secret:NAME}</c> (an entry of the secrets file)
/// in configuration strings, registering the values it hands out with the <see cref="SecretRegistry"/> so that they
/// are redacted wherever they show up later: every declared secret, and every environment value that could be one.
/// </summary>
internal sealed partial class SecretResolver(SecretRegistry registry, IReadOnlyDictionary<string, string> secretsFile, Func<string, string?> environment, string? secretsPath = null)
{
    public SecretRegistry Registry => registry;

    /// <summary>Reads a secrets file: one JSON object of string values, <c>{ "BILLING_TOKEN": "…" }</c>.</summary>
    public static IReadOnlyDictionary<string, string> ReadSecretsFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new SecretException($"{path}: secrets file not found");
        }

        try
        {
            var values = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path));
            return values ?? throw new SecretException($"{path}: the secrets file must be a JSON object of strings");
        }
        catch (JsonException ex)
        {
            // The message names the line, never the content: a secrets file is all secrets.
            throw new SecretException($"{path}({(ex.LineNumber ?? 0) + 1}): the secrets file must be a JSON object of string values");
        }
    }

    /// <summary>A copy of <paramref name="node"/> with every reference in its strings resolved; <paramref name="where"/> names it in errors.</summary>
    public JsonNode? Resolve(JsonNode? node, string where) => node switch
    {
        JsonObject obj => new JsonObject(obj.Select(p => KeyValuePair.Create(p.Key, Resolve(p.Value, $"{where}.{p.Key}")))),
        JsonArray array => new JsonArray([.. array.Select((n, i) => Resolve(n, $"{where}[{i}]"))]),
        JsonValue value when value.GetValueKind() == JsonValueKind.String => JsonValue.Create(Resolve(value.GetValue<string>(), where)),
        _ => node?.DeepClone(),
    };

    /// <summary>The string with its references replaced by their values.</summary>
    public string Resolve(string text, string where) => Reference().Replace(text, match =>
    {
        var source = match.Groups["source"].Value;
        var name = match.Groups["name"].Value;
        var value = source == "env"
            ? environment(name) ?? throw new SecretException($"{where}: the environment variable '{name}' is not set")
            : secretsFile.TryGetValue(name, out var found)
                ? found
                : throw new SecretException($"{where}: no secret '{name}' in {secretsPath ?? "the secrets file (none given: use --secrets FILE or \"secretsFile\")"}");
        registry.Add(value, declared: source == "secret");
        return value;
    });

    [GeneratedRegex(@"\$\{(?<source>env|secret):(?<name>[A-Za-z_][A-Za-z0-9_.-]*)\}")]
    private static partial Regex Reference();
}
