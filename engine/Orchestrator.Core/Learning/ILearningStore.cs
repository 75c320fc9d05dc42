using System.Text.Json.Nodes;

namespace Orchestrator.Core.Learning;

/// <summary>
/// What the engine learns across runs, kept in the store beside the journal but outside any run, so that pruning
/// old runs does not forget it: phase outcomes per strategy and agent, metric baselines, and the review queue.
/// </summary>
internal interface ILearningStore
{
    ValueTask<IReadOnlyList<LearnedOutcome>> GetOutcomesAsync(string? phase, CancellationToken cancellationToken);

    /// <summary>Adds one finished phase to the totals of its (phase, strategy, agent) and to the phase's history.</summary>
    ValueTask RecordOutcomeAsync(PhaseOutcome outcome, CancellationToken cancellationToken);

    /// <summary>The phase's latest outcomes, newest first, at most <paramref name="limit"/>: what recency weighs.</summary>
    ValueTask<IReadOnlyList<PhaseOutcome>> GetRecentAsync(string phase, int limit, CancellationToken cancellationToken);

    ValueTask<IReadOnlyDictionary<string, Baseline>> GetBaselinesAsync(CancellationToken cancellationToken);

    ValueTask SaveBaselinesAsync(IReadOnlyDictionary<string, Baseline> baselines, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Stores a recommendation and returns it with its id.</summary>
    ValueTask<Recommendation> AddRecommendationAsync(Recommendation recommendation, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<Recommendation>> ListRecommendationsAsync(CancellationToken cancellationToken);

    /// <summary>Approves or rejects a pending recommendation; false if there is no pending one with that id.</summary>
    ValueTask<bool> DecideAsync(long id, RecommendationStatus decision, DateTimeOffset at, CancellationToken cancellationToken);
}

/// <summary>One finished phase, as learning records it: per strategy and agent, with the cost its agents reported.</summary>
internal sealed record PhaseOutcome(string Phase, string Strategy, string Agent, bool Succeeded, long Items, long FailedItems, double DurationMs, DateTimeOffset At)
{
    public string RunId { get; init; } = "";

    public double Cost { get; init; }
}

/// <summary>The totals of a (phase, strategy, agent) over every run that recorded one.</summary>
public sealed record LearnedOutcome(string Phase, string Strategy, string Agent, long Runs, long Successes, long Items, long FailedItems, double TotalMs, DateTimeOffset LastAt)
{
    public double SuccessRate => Runs == 0 ? 0 : (double)Successes / Runs;

    public double MeanMs => Runs == 0 ? 0 : TotalMs / Runs;

    /// <summary>The mean duration of one work item, the yardstick for latency in the effectiveness score.</summary>
    public double MeanItemMs => Items == 0 ? 0 : TotalMs / Items;
}

/// <summary>A metric's running mean and variance across runs.</summary>
public sealed record Baseline(long Count, double Mean, double Variance);

public enum RecommendationRisk
{
    Low,
    High,
}

public enum RecommendationStatus
{
    /// <summary>Waiting in the review queue.</summary>
    Pending,

    /// <summary>Approved by a reviewer: in effect from the next run.</summary>
    Approved,

    Rejected,

    /// <summary>Low risk: applied by the engine when it was made, and in effect from then on.</summary>
    Applied,
}

/// <summary>
/// A change the optimization loop proposes to a phase's strategy. <see cref="Change"/> holds the strategy fields to
/// override (<c>concurrency</c>, <c>timeoutMs</c>, <c>agent</c>).
/// </summary>
public sealed record Recommendation
{
    public long Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required string RunId { get; init; }
    public required string Phase { get; init; }
    public required string Strategy { get; init; }
    public required string Kind { get; init; }
    public required RecommendationRisk Risk { get; init; }
    public required string Summary { get; init; }
    public required JsonObject Change { get; init; }
    public RecommendationStatus Status { get; init; } = RecommendationStatus.Pending;
    public DateTimeOffset? DecidedAt { get; init; }

    /// <summary>Whether the change is in effect for runs that start now.</summary>
    public bool InEffect => Status is RecommendationStatus.Approved or RecommendationStatus.Applied;

    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["phase"] = Phase,
        ["strategy"] = Strategy,
        ["kind"] = Kind,
        ["risk"] = Risk.ToString().ToLowerInvariant(),
        ["summary"] = Summary,
        ["change"] = Change.DeepClone(),
        ["status"] = Status.ToString().ToLowerInvariant(),
    };
}
