namespace Orchestrator.Core.Waits;

/// <summary>
/// The run stops here and ends as <see cref="Journal.RunStatus.Waiting"/>: a wait step found nothing to return yet. The
/// wait is in the store; a resume replays the run to this step, which then returns the decision, event or elapsed time.
/// It is not a failure: no step that it passes through journals an end.
/// </summary>
public sealed class RunParkedException(WaitRecord wait)
    : Exception($"the run waits for {WaitKinds.Describe(wait)}")
{
    public WaitRecord Wait { get; } = wait;
}

/// <summary>The kinds of wait, as the store and the journal name them.</summary>
public static class WaitKinds
{
    public const string Approval = "approval";
    public const string Event = "event";
    public const string Sleep = "sleep";

    /// <summary>"approval 'deploy'", "event 'payment'", "sleep until 2026-12-05T03:00:00Z".</summary>
    public static string Describe(WaitRecord wait) => wait.Kind == Sleep
        ? $"sleep until {Timestamp(wait.DueAt)}"
        : $"{wait.Kind} '{wait.Name}'" + (wait.DueAt is { } due ? $" (times out at {Timestamp(due)})" : "");

    /// <summary>A time as ISO 8601 UTC to the second, as the waits' messages and outputs show it.</summary>
    public static string Timestamp(DateTimeOffset? at) =>
        at?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) ?? "";
}
