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
}
