namespace Orchestrator.Core.Learning;

/// <summary>Learning that lasts as long as the process: for the in-memory journal, tests and benchmarks.</summary>
internal sealed class InMemoryLearningStore : ILearningStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string, string, string), LearnedOutcome> _outcomes = [];
    private readonly Dictionary<string, Baseline> _baselines = new(StringComparer.Ordinal);
    private readonly List<Recommendation> _recommendations = [];
    private readonly List<PhaseOutcome> _history = [];

    public ValueTask<IReadOnlyList<LearnedOutcome>> GetOutcomesAsync(string? phase, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<LearnedOutcome>>(
                [.. _outcomes.Values.Where(o => phase is null || o.Phase == phase).OrderBy(o => o.Phase, StringComparer.Ordinal).ThenBy(o => o.Strategy, StringComparer.Ordinal).ThenBy(o => o.Agent, StringComparer.Ordinal)]);
        }
    }

    public ValueTask RecordOutcomeAsync(PhaseOutcome outcome, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _history.Add(outcome);
            var key = (outcome.Phase, outcome.Strategy, outcome.Agent);
            _outcomes[key] = _outcomes.TryGetValue(key, out var o)
                ? o with
                {
                    Runs = o.Runs + 1,
                    Successes = o.Successes + (outcome.Succeeded ? 1 : 0),
                    Items = o.Items + outcome.Items,
                    FailedItems = o.FailedItems + outcome.FailedItems,
                    TotalMs = o.TotalMs + outcome.DurationMs,
                    LastAt = outcome.At,
                }
                : new LearnedOutcome(outcome.Phase, outcome.Strategy, outcome.Agent, 1, outcome.Succeeded ? 1 : 0, outcome.Items, outcome.FailedItems, outcome.DurationMs, outcome.At);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<PhaseOutcome>> GetRecentAsync(string phase, int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<PhaseOutcome>>([.. _history.Where(o => o.Phase == phase).Reverse().Take(limit)]);
        }
    }

    public ValueTask<IReadOnlyDictionary<string, Baseline>> GetBaselinesAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyDictionary<string, Baseline>>(new Dictionary<string, Baseline>(_baselines, StringComparer.Ordinal));
        }
    }

    public ValueTask SaveBaselinesAsync(IReadOnlyDictionary<string, Baseline> baselines, DateTimeOffset at, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var (metric, baseline) in baselines)
            {
                _baselines[metric] = baseline;
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<Recommendation> AddRecommendationAsync(Recommendation recommendation, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var stored = recommendation with { Id = _recommendations.Count + 1 };
            _recommendations.Add(stored);
            return ValueTask.FromResult(stored);
        }
    }

    public ValueTask<IReadOnlyList<Recommendation>> ListRecommendationsAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<Recommendation>>([.. _recommendations]);
        }
    }

    public ValueTask<bool> DecideAsync(long id, RecommendationStatus decision, DateTimeOffset at, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var index = _recommendations.FindIndex(r => r.Id == id && r.Status == RecommendationStatus.Pending);
            if (index < 0)
            {
                return ValueTask.FromResult(false);
            }

            _recommendations[index] = _recommendations[index] with { Status = decision, DecidedAt = at };
            return ValueTask.FromResult(true);
        }
    }
}
