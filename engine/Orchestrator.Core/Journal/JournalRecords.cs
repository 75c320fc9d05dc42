using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Orchestrator.Core.Journal;

/// <summary>Where a run or a step stands.</summary>
public enum RunStatus
{
    Running,
    Succeeded,
    Failed,
    Cancelled,

    /// <summary>A step whose moderate failure was absorbed: the run went on without its result.</summary>
    Degraded,

    /// <summary>A finished step undone by its compensation during a rollback; a resume runs it again.</summary>
    Compensated,

    /// <summary>A run parked on an approval, an event or a timer: nothing runs it until it is resumed (see docs/waits.md).</summary>
    Waiting,
}

/// <summary>What happened to a step; the journal only ever appends these.</summary>
public enum StepEvent
{
    Started,
    Succeeded,
    Failed,
    Degraded,
    Compensated,
}

/// <summary>One run as the store keeps it.</summary>
public sealed record RunRecord
{
    public required string Id { get; init; }
    public required string Script { get; init; }
    public required string ScriptHash { get; init; }
    public required string Language { get; init; }
    public required string EngineVersion { get; init; }
    public RunStatus Status { get; init; } = RunStatus.Running;
    public JsonNode? Input { get; init; }
    public JsonNode? Result { get; init; }
    public string? Error { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>The path of the last report rendered for the run, if any.</summary>
    public string? Report { get; init; }

    /// <summary>Why the run's report could not be written (a template's file(line,col) and message); the run's status does not change for it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ReportError { get; init; }

    /// <summary>
    /// The machine that last ran (or resumed) the run; null for runs journaled before format 2.
    /// A local detail, so not part of a report's JSON.
    /// </summary>
    [JsonIgnore]
    public string? Host { get; init; }

    /// <summary>The id of the process that last ran (or resumed) the run on <see cref="Host"/>; null before format 2.</summary>
    [JsonIgnore]
    public int? Pid { get; init; }

    public double? DurationMs => EndedAt is { } end ? (end - StartedAt).TotalMilliseconds : null;

    /// <summary>
    /// The hash chain's last link when the run ended (hex SHA-256, see <see cref="JournalChain"/>): what <c>runs verify</c>
    /// checks the journal against, and what a report carries so that the journal can be checked against the report.
    /// Null while the run runs, and for runs that ended before journal format 6.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? FinalHash { get; init; }
}

/// <summary>
/// One appended journal event. A struct: every step makes two, which the in-memory journal keeps in arrays and the
/// SQLite journal writes out, so none needs an object of its own.
/// </summary>
/// <param name="Seq">Order within the run, from 1.</param>
/// <param name="Payload">Input on <see cref="StepEvent.Started"/>, output on the terminal events.</param>
public readonly record struct JournalEntry(
    string RunId,
    long Seq,
    string StepId,
    StepEvent Event,
    string? ParentId,
    string Name,
    string Kind,
    string? Agent,
    int Attempt,
    JsonNode? Payload,
    string? Error,
    DateTimeOffset At);

/// <summary>A step folded from its journal events: what reports and <c>runs show</c> read.</summary>
public sealed record StepRecord
{
    public required string RunId { get; init; }
    public required string Id { get; init; }
    public string? ParentId { get; init; }
    public required string Name { get; init; }
    public required string Kind { get; init; }
    public string? Agent { get; init; }
    public required RunStatus Status { get; init; }
    public int Attempt { get; init; }
    public JsonNode? Input { get; init; }
    public JsonNode? Output { get; init; }
    public string? Error { get; init; }

    /// <summary>The sequence number of the step's first event, which orders steps by start.</summary>
    public long Seq { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }

    public double? DurationMs => EndedAt is { } end ? (end - StartedAt).TotalMilliseconds : null;

    /// <summary>The length of the input's JSON when <see cref="Input"/> holds only a preview of it (a string); null when it is the whole value.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? InputChars { get; init; }

    /// <summary>The length of the output's JSON when <see cref="Output"/> holds only a preview of it (a string); null when it is the whole value.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? OutputChars { get; init; }
}
