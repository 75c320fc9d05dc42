using System.Globalization;
using System.Text.Json.Nodes;
using Orchestrator.Core.Learning;

namespace Orchestrator.Core.Strategies;

/// <summary>A candidate strategy with what selection made of it.</summary>
/// <param name="Value">Learned worth in [0, 1]: the share of items that succeeded times relative speed.</param>
/// <param name="Bonus">The exploration bonus (UCB) for being tried less often.</param>
internal sealed record RankedStrategy(PhaseStrategy Strategy, bool Available, long Runs, double Value, double Bonus, string Reason)
{
    public double Score => Value + Bonus;

    public JsonObject ToJson() => new()
    {
        ["strategy"] = Strategy.Name,
        ["available"] = Available,
        ["runs"] = Runs,
        ["value"] = Math.Round(Value, 4),
        // An untried strategy's bonus is unbounded: JSON has no infinity, so it is written as null.
        ["bonus"] = double.IsInfinity(Bonus) ? null : Math.Round(Bonus, 4),
        ["score"] = double.IsInfinity(Score) ? null : Math.Round(Score, 4),
        ["reason"] = Reason,
    };
}

/// <summary>
/// Chooses a phase's strategy from what earlier runs learned, with UCB1: each candidate's learned value (the share of
/// its items that succeeded, times its speed relative to the fastest candidate) plus a bonus that shrinks as it is
/// tried more. Untried candidates go first, in the script's order; candidates whose agents are missing or all
/// unhealthy go last. Deterministic, so a resumed run and a test see the same choice for the same history.
/// </summary>
internal static class StrategySelector
{
    public static IReadOnlyList<RankedStrategy> Rank(
        IReadOnlyList<PhaseStrategy> candidates,
        IReadOnlyList<LearnedOutcome> learned,
        Func<PhaseStrategy, string?> unavailable,
        double exploration)
    {
        var totals = candidates.ToDictionary(c => c.Name, c => Total(learned.Where(o => o.Strategy == c.Name)), StringComparer.Ordinal);
        var tried = totals.Values.Where(t => t.Runs > 0).ToList();
        var fastest = tried.Count == 0 ? 0 : tried.Min(t => t.MeanItemMs);
        var allRuns = tried.Sum(t => t.Runs);

        var ranked = new List<RankedStrategy>(candidates.Count);
        foreach (var candidate in candidates)
        {
            var total = totals[candidate.Name];
            if (unavailable(candidate) is { } why)
            {
                ranked.Add(new RankedStrategy(candidate, false, total.Runs, 0, 0, why));
                continue;
            }

            if (total.Runs == 0)
            {
                ranked.Add(new RankedStrategy(candidate, true, 0, 0, double.PositiveInfinity, "not tried yet: exploring"));
                continue;
            }

            var successRate = total.Items == 0 ? total.SuccessRate : (double)(total.Items - total.FailedItems) / total.Items;
            var speed = total.MeanItemMs <= 0 ? 1 : Math.Min(1, fastest / total.MeanItemMs);
            var value = successRate * speed;
            var bonus = exploration * Math.Sqrt(Math.Log(Math.Max(allRuns, 1)) / total.Runs);
            var reason = string.Create(CultureInfo.InvariantCulture,
                $"{total.Runs} runs: {successRate * 100:0}% of items succeeded, {total.MeanItemMs:0.#} ms per item ({speed:0.##} of the fastest); value {value:0.###} + exploration {bonus:0.###}");
            ranked.Add(new RankedStrategy(candidate, true, total.Runs, value, bonus, reason));
        }

        // Stable: equal scores keep the script's order.
        return [.. ranked.OrderByDescending(r => r.Available).ThenByDescending(r => r.Score)];
    }

    private static LearnedOutcome Total(IEnumerable<LearnedOutcome> outcomes) => outcomes.Aggregate(
        new LearnedOutcome("", "", "", 0, 0, 0, 0, 0, DateTimeOffset.MinValue),
        (sum, o) => sum with
        {
            Runs = sum.Runs + o.Runs,
            Successes = sum.Successes + o.Successes,
            Items = sum.Items + o.Items,
            FailedItems = sum.FailedItems + o.FailedItems,
            TotalMs = sum.TotalMs + o.TotalMs,
        });
}
