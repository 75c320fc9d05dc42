using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Core.Connectors;

/// <summary>Reads the fields of a connector definition (already secret-resolved), naming the connector in every error.</summary>
internal sealed class ConnectorSpec(string where, JsonObject spec)
{
    public string Where => where;

    public JsonObject Json => spec;

    public static ConnectorSpec From(string where, JsonNode? node) =>
        node is JsonObject obj ? new ConnectorSpec(where, obj) : throw new ConnectorConfigException($"{where}: a connector must be a JSON object with a \"type\" (http or process)");

    public void AllowOnly(params string[] keys)
    {
        var unknown = spec.Select(p => p.Key).Where(k => !keys.Contains(k, StringComparer.Ordinal)).ToList();
        if (unknown.Count > 0)
        {
            throw new ConnectorConfigException($"{where}: unknown key(s) {string.Join(", ", unknown.Select(k => $"'{k}'"))}; allowed: {string.Join(", ", keys)}");
        }
    }

    public string RequiredString(string name) => OptionalString(name) ?? throw new ConnectorConfigException($"{where}: '{name}' is required");

    public string? OptionalString(string name) => spec[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw new ConnectorConfigException($"{where}: '{name}' must be a string"),
    };

    public IReadOnlyList<string> Strings(string name) => Strings(spec, name, where);

    public IReadOnlyDictionary<string, string> StringMap(string name)
    {
        if (spec[name] is null)
        {
            return new Dictionary<string, string>();
        }

        if (spec[name] is not JsonObject map || map.Any(p => p.Value?.GetValueKind() != JsonValueKind.String))
        {
            throw new ConnectorConfigException($"{where}: '{name}' must be an object of string values");
        }

        return map.ToDictionary(p => p.Key, p => p.Value!.GetValue<string>(), StringComparer.Ordinal);
    }

    public TimeSpan Milliseconds(string name, TimeSpan fallback) => Milliseconds(spec, name, fallback, where);

    public JsonObject Health() => spec["health"] switch
    {
        null => [],
        JsonObject health => health,
        _ => throw new ConnectorConfigException($"{where}: 'health' must be an object"),
    };

    public static IReadOnlyList<string> Strings(JsonObject obj, string name, string where)
    {
        if (obj[name] is null)
        {
            return [];
        }

        if (obj[name] is not JsonArray list || list.Any(n => n?.GetValueKind() != JsonValueKind.String))
        {
            throw new ConnectorConfigException($"{where}: '{name}' must be an array of strings");
        }

        return [.. list.Select(n => n!.GetValue<string>())];
    }

    public static TimeSpan Milliseconds(JsonObject obj, string name, TimeSpan fallback, string where)
    {
        if (obj[name] is null)
        {
            return fallback;
        }

        if (obj[name]!.GetValueKind() == JsonValueKind.Number
            && double.Parse(obj[name]!.ToJsonString(), CultureInfo.InvariantCulture) is >= 1 and <= int.MaxValue and var ms)
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        throw new ConnectorConfigException($"{where}: '{name}' must be a number of milliseconds between 1 and {int.MaxValue}");
    }
}
