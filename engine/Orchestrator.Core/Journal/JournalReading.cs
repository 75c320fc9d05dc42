using System.Text.Json.Nodes;

namespace Orchestrator.Core.Journal;

/// <summary>How much of an event's payload a reader of the journal wants.</summary>
internal enum PayloadRead
{
    /// <summary>None: the entry's payload is null, only its length is given.</summary>
    Skip,

    /// <summary>The whole value if it is short; else its first <see cref="JournalRow.PreviewChars"/> characters of JSON, as a string.</summary>
    Preview,

    /// <summary>The whole value, whatever its size.</summary>
    Full,
}

/// <summary>Decides, from an event's header, how much of its payload to read.</summary>
internal delegate PayloadRead PayloadSelector(string stepId, StepEvent kind, string stepKind);

/// <summary>One journal event as a streaming reader hands it out: the entry, and the size of its payload as stored.</summary>
/// <param name="PayloadChars">The length of the payload's JSON text, whether or not it was read; 0 for none.</param>
/// <param name="PayloadTruncated">The entry's payload is a preview string of the JSON, not the value.</param>
internal readonly record struct JournalRow(JournalEntry Entry, long PayloadChars, bool PayloadTruncated)
{
    /// <summary>The most characters of a payload's JSON a preview holds.</summary>
    public const int PreviewChars = 2000;

    public static PayloadSelector All { get; } = static (_, _, _) => PayloadRead.Full;

    /// <summary>
    /// The row of <paramref name="entry"/> (read without its payload) with as much of its payload as <paramref name="payloads"/>
    /// asks for: <paramref name="stored"/> gives the payload as stored, <paramref name="valueStart"/> and <paramref name="lookup"/>
    /// the start of a stored value and the whole of it.
    /// </summary>
    public static JournalRow Read(
        JournalEntry entry,
        long chars,
        Func<string> stored,
        PayloadSelector payloads,
        Func<string, int, (string Start, long Size)> valueStart,
        Func<string, string> lookup)
    {
        if (chars == 0)
        {
            return new JournalRow(entry, chars, false);
        }

        var wanted = payloads(entry.StepId, entry.Event, entry.Kind);
        if (wanted == PayloadRead.Skip)
        {
            return new JournalRow(entry, chars, false);
        }

        var text = stored();
        var preview = text;
        if (wanted == PayloadRead.Preview && PayloadValues.MayReferToValues(text))
        {
            // What the row refers to counts, but a preview reads of each value only its start.
            (preview, chars) = PayloadValues.Preview(text, PreviewChars, valueStart);
        }

        if (wanted == PayloadRead.Full || chars <= PreviewChars)
        {
            // From the row as stored, not the preview: a value's recorded size only decides how much to read.
            return new JournalRow(entry with { Payload = PayloadValues.Decode(text, lookup) }, chars, false);
        }

        return new JournalRow(entry with { Payload = JsonValue.Create(preview.Length > PreviewChars ? preview[..PreviewChars] : preview) }, chars, true);
    }
}
