using System.Buffers;
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
/// gives back exactly the JSON that was encoded. A stored value's <c>size</c> is the length of its JSON with every
/// value it refers to expanded, so a preview can say how big the whole value is without reading it.
/// </remarks>
internal static class PayloadValues
{
    /// <summary>Parts of a payload whose JSON is at least this long are stored once, by hash.</summary>
    public const int Threshold = 4096;

    private const string MarkerKey = "\0v";

    /// <summary>The NUL character as JSON text escapes it; any text containing it may hold markers or escaped keys.</summary>
    private const string EscapedNul = "\\u0000";

    /// <summary>What every marker starts with, as JSON text; the hash and <c>"}</c> follow.</summary>
    private const string MarkerStart = "{\"" + EscapedNul + "v\":\"";

    private const int MarkerLength = 78; // MarkerStart (12) + 64 hex digits + "}

    /// <summary>
    /// The JSON text to store for <paramref name="node"/>; the parts stored by hash are added to <paramref name="values"/>,
    /// whose buffers the caller gives back with <see cref="Release"/> once it has stored them. Every text (the row's and
    /// each value's) passes through <paramref name="redact"/> before it is hashed; with none, a large string is written
    /// straight to UTF-8 and never held as a .NET string of its own.
    /// </summary>
    public static string Encode(JsonNode node, Func<string, string>? redact, List<StoredValue> values)
    {
        // Most payloads are small: one serialization, no walk. A big one is never serialized whole.
        if (IsSmall(node, Threshold))
        {
            var text = node.ToJsonString();
            if (text.Length < Threshold && !text.Contains(EscapedNul, StringComparison.Ordinal))
            {
                return redact is null ? text : redact(text);
            }
        }

        return EncodeNode(node, redact, values).Text;
    }

    /// <summary>Gives the buffers of stored values back to the pool.</summary>
    public static void Release(List<StoredValue> values)
    {
        foreach (var value in values)
        {
            ArrayPool<byte>.Shared.Return(value.Buffer);
        }

        values.Clear();
    }

    /// <summary>Reads JSON written by <see cref="Encode"/>, fetching the values it refers to with <paramref name="lookup"/> (hash to JSON).</summary>
    public static JsonNode? Decode(string text, Func<string, string> lookup)
    {
        var node = JsonNode.Parse(text);
        return MayReferToValues(text) ? Resolve(node, lookup) : node;
    }

    /// <summary>True when <paramref name="text"/> may refer to stored values (only then does reading it need the values table).</summary>
    public static bool MayReferToValues(string text) => text.Contains(EscapedNul, StringComparison.Ordinal);

    /// <summary>
    /// The first <paramref name="chars"/> characters of the JSON <paramref name="text"/> stands for, and that JSON's whole
    /// length, reading of each value it refers to only what the preview needs: <paramref name="value"/> gives a value's
    /// first characters (hash, count) and its whole size.
    /// </summary>
    public static (string Preview, long Length) Preview(string text, int chars, Func<string, int, (string Start, long Size)> value)
    {
        if (text.Contains(EscapedNul + EscapedNul, StringComparison.Ordinal))
        {
            // A key stored with an added NUL (rare): only a parse tells it from a string that starts with two NULs.
            var whole = Decode(text, hash => value(hash, int.MaxValue).Start)?.ToJsonString() ?? "null";
            return (whole[..Math.Min(chars, whole.Length)], whole.Length);
        }

        var preview = new StringBuilder(Math.Min(chars, text.Length));
        long length = 0;
        var at = 0;
        while (at < text.Length)
        {
            var marker = text.IndexOf(MarkerStart, at, StringComparison.Ordinal);
            var end = marker < 0 || marker + MarkerLength > text.Length ? text.Length : marker;
            preview.Append(text.AsSpan(at, Math.Min(end - at, Math.Max(0, chars - preview.Length))));
            length += end - at;
            if (end == text.Length)
            {
                break;
            }

            var hash = text.Substring(marker + MarkerStart.Length, 64);
            var room = Math.Max(0, chars - preview.Length);
            var (start, size) = value(hash, room + MarkerLength);
            if (room > 0 && start.Contains(EscapedNul + EscapedNul, StringComparison.Ordinal))
            {
                // The inner preview must parse the value to tell its keys: it needs all of it.
                start = value(hash, int.MaxValue).Start;
            }

            if (room > 0)
            {
                // The value's own start may refer to values too.
                var (inner, _) = Preview(start, room, value);
                preview.Append(inner.AsSpan(0, Math.Min(inner.Length, room)));
            }

            length += size;
            at = marker + MarkerLength;
        }

        return (preview.ToString(), length);
    }

    /// <summary>Adds the hashes of the stored values that the stored JSON <paramref name="utf8"/> refers to (not those they refer to in turn).</summary>
    public static void AddReferences(ReadOnlySpan<byte> utf8, List<string> hashes)
    {
        var marker = MarkerStartUtf8;
        var at = 0;
        while (utf8[at..].IndexOf(marker) is var found and >= 0)
        {
            var start = at + found + marker.Length;
            if (start + 64 > utf8.Length)
            {
                break;
            }

            hashes.Add(Encoding.ASCII.GetString(utf8.Slice(start, 64)));
            at = start + 64;
        }
    }

    private static ReadOnlySpan<byte> MarkerStartUtf8 => "{\"\\u0000v\":\""u8;

    /// <summary>Whether the JSON of <paramref name="node"/> is surely shorter than <paramref name="budget"/>, judged without serializing it.</summary>
    private static bool IsSmall(JsonNode? node, int budget) => Estimate(node, budget) < budget;

    /// <summary>A lower bound of the JSON's length that stops counting at <paramref name="budget"/>.</summary>
    private static int Estimate(JsonNode? node, int budget)
    {
        switch (node)
        {
            case JsonObject obj:
                var total = 2;
                foreach (var (key, value) in obj)
                {
                    total += key.Length + 4 + Estimate(value, budget - total);
                    if (total >= budget)
                    {
                        return total;
                    }
                }

                return total;
            case JsonArray array:
                var sum = 2;
                foreach (var item in array)
                {
                    sum += 1 + Estimate(item, budget - sum);
                    if (sum >= budget)
                    {
                        return sum;
                    }
                }

                return sum;
            case JsonValue value when value.TryGetValue<string>(out var text):
                return text.Length + 2;
            case null:
                return 4;
            default:
                return 1;
        }
    }

    /// <summary>The stored text of a part, and the length of its JSON with everything it refers to expanded.</summary>
    private static (string Text, long Size) EncodeNode(JsonNode? node, Func<string, string>? redact, List<StoredValue> values)
    {
        if (redact is null && node is JsonValue leaf && !IsSmall(leaf, Threshold))
        {
            // A large string (a process's output): serialized once, to pooled UTF-8, hashed and stored from there.
            var buffer = new PooledBufferWriter();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                leaf.WriteTo(writer);
            }

            if (buffer.Written.Length >= Threshold)
            {
                var chars = Encoding.UTF8.GetCharCount(buffer.Written.Span);
                return (Store(buffer, values, chars), chars);
            }

            buffer.Dispose();
        }

        string text;
        long size;
        switch (node)
        {
            case JsonObject obj:
                var builder = new StringBuilder("{");
                size = 2;
                foreach (var (key, value) in obj)
                {
                    if (builder.Length > 1)
                    {
                        builder.Append(',');
                        size++;
                    }

                    var name = JsonSerializer.Serialize(key.StartsWith('\0') ? "\0" + key : key);
                    var (part, partSize) = EncodeNode(value, redact, values);
                    builder.Append(name).Append(':').Append(part);
                    size += JsonSerializer.Serialize(key).Length + 1 + partSize;
                }

                text = builder.Append('}').ToString();
                break;
            case JsonArray array:
                var items = new StringBuilder("[");
                size = 2;
                foreach (var item in array)
                {
                    if (items.Length > 1)
                    {
                        items.Append(',');
                        size++;
                    }

                    var (part, partSize) = EncodeNode(item, redact, values);
                    items.Append(part);
                    size += partSize;
                }

                text = items.Append(']').ToString();
                break;
            case null:
                return ("null", 4);
            default:
                text = node.ToJsonString();
                size = text.Length;
                break;
        }

        text = redact is null ? text : redact(text);
        if (text.Length < Threshold)
        {
            return (text, Math.Max(size, text.Length));
        }

        var bytes = new PooledBufferWriter();
        Encoding.UTF8.GetBytes(text, bytes);
        return (Store(bytes, values, size), size);
    }

    private static string Store(PooledBufferWriter bytes, List<StoredValue> values, long size)
    {
        var length = bytes.Written.Length;
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes.Written.Span));
        values.Add(new StoredValue(hash, bytes.Detach(), length, size));
        return MarkerStart + hash + "\"}";
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

/// <summary>A value stored once: its hash, its stored JSON as UTF-8 (the first <see cref="Length"/> bytes of a pooled buffer), and the length in characters of that JSON with the values it refers to expanded.</summary>
internal readonly record struct StoredValue(string Hash, byte[] Buffer, int Length, long Size)
{
    public ReadOnlySpan<byte> Utf8 => Buffer.AsSpan(0, Length);

    public string Json => Encoding.UTF8.GetString(Utf8);
}

/// <summary>An <see cref="IBufferWriter{T}"/> over arrays from the shared pool: a large value is written without a buffer of its own for each size it grows through.</summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(PayloadValues.Threshold * 4);
    private int _written;

    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _written);

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Grow(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Grow(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>The buffer, now the caller's to give back to the pool.</summary>
    public byte[] Detach()
    {
        var buffer = _buffer;
        _buffer = [];
        _written = 0;
        return buffer;
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(Detach());
        }
    }

    private void Grow(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
