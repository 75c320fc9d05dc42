using System.Text.Json.Nodes;

namespace Orchestrator.Core.Waits;

/// <summary>
/// What runs wait for, kept in the store beside the journal (tables <c>waits</c> and <c>signals</c>, journal format 7):
/// a wait is opened once per wait step, so its due time survives every resume; a decision or a signal is written
/// by whoever gives it (the CLI, the host's API, an MCP tool) and read by the step when the run is resumed.
/// </summary>
internal interface IWaitStore
{
    /// <summary>Records the wait unless it is there already; returns the stored one, whose due time is the first attempt's.</summary>
    ValueTask<WaitRecord> OpenAsync(WaitRecord wait, CancellationToken cancellationToken);

    /// <summary>The waits of <paramref name="runId"/> (every run's when null); only the open ones unless <paramref name="includeClosed"/>.</summary>
    ValueTask<IReadOnlyList<WaitRecord>> ListAsync(string? runId, bool includeClosed, CancellationToken cancellationToken);

    /// <summary>Records a decision on an open, undecided approval; false if there is none such.</summary>
    ValueTask<bool> DecideAsync(string runId, string stepId, JsonObject decision, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>The wait's step has ended: it is no longer listed as open.</summary>
    ValueTask CloseAsync(string runId, string stepId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Stores a signal for the run; the first wait for its name takes it, whenever that wait comes.</summary>
    ValueTask<long> SignalAsync(string runId, string name, JsonNode? data, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// The signal <paramref name="stepId"/> took before (a resume asks again), else the oldest one not yet taken, which it
    /// takes now; null when none has come.
    /// </summary>
    ValueTask<SignalRecord?> ConsumeAsync(string runId, string name, string stepId, DateTimeOffset at, CancellationToken cancellationToken);
}

/// <summary>One wait of a run: an approval asked, an event awaited or a timer set.</summary>
public sealed record WaitRecord
{
    public required string RunId { get; init; }

    public required string StepId { get; init; }

    /// <summary><c>approval</c>, <c>event</c> or <c>sleep</c>.</summary>
    public required string Kind { get; init; }

    public required string Name { get; init; }

    /// <summary>What an approval shows the person who decides.</summary>
    public JsonNode? Data { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the wait times out (approval, event) or ends (sleep); null for no limit.</summary>
    public DateTimeOffset? DueAt { get; init; }

    /// <summary>An approval's decision: <c>{ approved, by, comment, at }</c>.</summary>
    public JsonObject? Decision { get; init; }

    public DateTimeOffset? ClosedAt { get; init; }
}

/// <summary>One signal sent to a run; <see cref="ConsumedBy"/> is the wait step that took it.</summary>
public sealed record SignalRecord(long Id, string RunId, string Name, JsonNode? Data, DateTimeOffset SentAt, string? ConsumedBy);
