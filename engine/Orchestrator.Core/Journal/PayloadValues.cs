using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Core.Journal;

/// <summary>
/// Large values stored once. A composite step's output holds its children's outputs (a parallel step's the branches',
/// a branch's its agent's), so storing each payload whole would store a 4 MiB output three times. Instead, every part of
/// a payload whose JSON reaches <see cref="Threshold"/> characters — a string, an array or an object, innermost first —
/// is kept in <c>payload_values</c> under the SHA-256 of its JSON, and the payload refers to it with a marker object,
/// <c>{"\u0000v":"&lt;hash&gt;"}</c>. The same value in another row, step or run is the same row of the table.
/// </summary>
/// <remarks>
/// The marker's one key starts with a NUL character, which no script writes in practice; to stay exact anyway, any key
/// of the data that starts with NUL is stored with one more NUL in front, and reading takes one off again. Decoding
/// gives back exactly the JSON that was encoded.
/// </remarks>
internal static class PayloadValues
{
    /// <summary>Parts of a payload whose JSON is at least this long are stored once, by hash.</summary>
    public const int Threshold = 4096;

    private const string MarkerKey = "\0v";

    /// <summary>The marker's key as it appears in JSON text; any text containing it may hold markers or escaped keys.</summary>
    private const string EscapedNul = "\\u0000";

    /// <summary>
    /// The JSON text to store for <paramref name="node"/>; the parts stored by hash are added to <paramref name="values"/>.
    /// Every text (the row's and each value's) passes through <paramref name="redact"/> before it is hashed.
    /// </summary>
    public static string Encode(JsonNode node, Func<string, string> redact, List<StoredValue> values)
    {
        var text = node.ToJsonString();
        if (text.Length < Threshold && !text.Contains(EscapedNul, StringComparison.Ordinal))
        {
            return redact(text);
        }

        return EncodeNode(node, redact, values);
    }

    /// <summary>Reads JSON written by <see cref="Encode"/>, fetching the values it refers to with <paramref name="lookup"/> (hash to JSON).</summary>
    public static JsonNode? Decode(string text, Func<string, string> lookup)
    {
        var node = JsonNode.Parse(text);
        return text.Contains(EscapedNul, StringComparison.Ordinal) ? Resolve(node, lookup) : node;
    }

    /// <summary>True when <paramref name="text"/> may refer to stored values (only then does reading it need the values table).</summary>
    public static bool MayReferToValues(string text) => text.Contains(EscapedNul, StringComparison.Ordinal);

    private static string EncodeNode(JsonNode? node, Func<string, string> redact, List<StoredValue> values)
    {
        string text;
        switch (node)
        {
            case JsonObject obj:
                var builder = new StringBuilder("{");
                foreach (var (key, value) in obj)
                {
                    if (builder.Length > 1)
                    {
                        builder.Append(',');
                    }

                    builder.Append(JsonSerializer.Serialize(key.StartsWith('\0') ? "\0" + key : key)).Append(':').Append(EncodeNode(value, redact, values));
                }

                text = builder.Append('}').ToString();
                break;
            case JsonArray array:
                var items = new StringBuilder("[");
                foreach (var item in array)
                {
                    if (items.Length > 1)
                    {
                        items.Append(',');
                    }

                    items.Append(EncodeNode(item, redact, values));
                }

                text = items.Append(']').ToString();
                break;
            case null:
                return "null";
            default:
                text = node.ToJsonString();
                break;
        }

        text = redact(text);
        if (text.Length < Threshold)
        {
            return text;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        values.Add(new StoredValue(hash, text));
        return "{\"" + EscapedNul + "v\":\"" + hash + "\"}";
    }

    private static JsonNode? Resolve(JsonNode? node, Func<string, string> lookup)
    {
        switch (node)
        {
            case JsonObject obj when obj.Count == 1 && obj[MarkerKey] is JsonValue marker && marker.TryGetValue<string>(out var hash):
                return Decode(lookup(hash), lookup);
            case JsonObject obj:
                var properties = obj.ToList();
                obj.Clear();
                foreach (var (key, value) in properties)
                {
                    obj[key.StartsWith('\0') ? key[1..] : key] = Resolve(value, lookup);
                }

                return obj;
            case JsonArray array:
                var elements = array.ToList();
                array.Clear();
                foreach (var element in elements)
                {
                    array.Add(Resolve(element, lookup));
                }

                return array;
            default:
                return node;
        }
    }
}

/// <summary>A value stored once: its hash and its JSON.</summary>
internal readonly record struct StoredValue(string Hash, string Json);
