using System.Globalization;
using System.Text.Json.Nodes;
using Orchestrator.Core.Goals;
using Orchestrator.Core.Learning;

namespace Orchestrator.Core.Strategies;

/// <summary>A candidate strategy with what selection made of it.</summary>
/// <param name="Value">Learned worth in [0, 1]: reliability, speed and cost, weighed by the run's goals.</param>
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
/// Chooses a phase's strategy from what earlier runs learned, with UCB1: each candidate's learned value plus a bonus that
/// shrinks as it is tried more. The value weighs, by the run's goals (reliability first unless they say otherwise), the
/// share of items that succeeded, the speed relative to the fastest candidate and the cost relative to the cheapest, as
/// a weighted geometric mean; each past run counts less as newer runs of the phase follow it (a half-life in runs), so a
/// strategy that starts failing loses its lead within a few runs. A candidate whose failure rate is over the goals'
/// limit has its value halved. Untried candidates go first, in the script's order; candidates whose agents are missing
/// or all unhealthy go last. Deterministic, so a resumed run and a test see the same choice for the same history.
/// </summary>
internal static class StrategySelector
{
    /// <summary>How many of a phase's latest outcomes selection reads: beyond a few half-lives they weigh next to nothing.</summary>
    public const int History = 200;

    public static IReadOnlyList<RankedStrategy> Rank(
        IReadOnlyList<PhaseStrategy> candidates,
        IReadOnlyList<PhaseOutcome> recent,
        Func<PhaseStrategy, string?> unavailable,
        double exploration,
        RunGoals goals)
    {
        var totals = Weigh(recent, goals.HalfLife);
        var tried = candidates.Select(c => totals.GetValueOrDefault(c.Name)).Where(t => t is { Runs: > 0 }).ToList();
        var fastest = tried.Count == 0 ? 0 : tried.Min(t => t!.MsPerItem);
        var cheapest = tried.Count == 0 ? 0 : tried.Min(t => t!.CostPerItem);
        var allRuns = tried.Sum(t => t!.Runs);
        var weights = goals.Weights;

        var ranked = new List<RankedStrategy>(candidates.Count);
        foreach (var candidate in candidates)
        {
            var total = totals.GetValueOrDefault(candidate.Name);
            if (unavailable(candidate) is { } why)
            {
                ranked.Add(new RankedStrategy(candidate, false, total?.Runs ?? 0, 0, 0, why));
                continue;
            }

            if (total is not { Runs: > 0 })
            {
                ranked.Add(new RankedStrategy(candidate, true, 0, 0, double.PositiveInfinity, "not tried yet: exploring"));
                continue;
            }

            var successRate = total.SuccessRate;
            var speed = total.MsPerItem <= 0 ? 1 : Math.Min(1, fastest / total.MsPerItem);
            var cheapness = total.CostPerItem <= 0 ? 1 : Math.Min(1, cheapest / total.CostPerItem);
            var value = Math.Pow(successRate, weights.Reliability) * Math.Pow(speed, weights.Speed) * Math.Pow(cheapness, weights.Cost);
            var overLimit = goals.MaxFailureRate is { } max && 1 - successRate > max;
            if (overLimit)
            {
                value /= 2;
            }

            var bonus = exploration * Math.Sqrt(Math.Log(Math.Max(allRuns, 1)) / total.Runs);
            var reason = string.Create(CultureInfo.InvariantCulture,
                $"{total.Runs} runs (recent ones weigh more, half-life {goals.HalfLife:0.##} runs): {successRate * 100:0}% of items succeeded, {total.MsPerItem:0.#} ms per item ({speed:0.##} of the fastest)") +
                (total.CostPerItem > 0 ? string.Create(CultureInfo.InvariantCulture, $", cost {total.CostPerItem:0.##} per item ({cheapness:0.##} of the cheapest)") : "") +
                (overLimit ? string.Create(CultureInfo.InvariantCulture, $", over the goal's failure rate {goals.MaxFailureRate:0.###} (value halved)") : "") +
                string.Create(CultureInfo.InvariantCulture, $"; weights {weights}; value {value:0.###} + exploration {bonus:0.###}");
            ranked.Add(new RankedStrategy(candidate, true, total.Runs, value, bonus, reason));
        }

        // Stable: equal scores keep the script's order.
        return [.. ranked.OrderByDescending(r => r.Available).ThenByDescending(r => r.Score)];
    }

    /// <summary>
    /// Each strategy's outcomes with each run weighted by 2^(-age / half-life), where age counts the phase's runs since
    /// (0 for the newest); the bonus counts runs unweighted.
    /// </summary>
    private static Dictionary<string, Weighted> Weigh(IReadOnlyList<PhaseOutcome> newestFirst, double halfLife)
    {
        var totals = new Dictionary<string, Weighted>(StringComparer.Ordinal);
        var runs = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var outcome in newestFirst)
        {
            // Outcomes of one run share its age; totals carried over from before the history have no run and age alone.
            var runKey = outcome.RunId.Length == 0 ? "\0" + runs.Count.ToString(CultureInfo.InvariantCulture) : outcome.RunId;
            if (!runs.TryGetValue(runKey, out var age))
            {
                age = runs.Count;
                runs[runKey] = age;
            }

            var weight = Math.Pow(2, -age / halfLife);
            var total = totals.TryGetValue(outcome.Strategy, out var t) ? t : new Weighted();
            total.Runs++;
            total.Items += weight * outcome.Items;
            total.FailedItems += weight * outcome.FailedItems;
            total.Ms += weight * outcome.DurationMs;
            total.Cost += weight * outcome.Cost;
            totals[outcome.Strategy] = total;
        }

        return totals;
    }

    private sealed class Weighted
    {
        public long Runs { get; set; }

        public double Items { get; set; }

        public double FailedItems { get; set; }

        public double Ms { get; set; }

        public double Cost { get; set; }

        public double SuccessRate => Items <= 0 ? 1 : (Items - FailedItems) / Items;

        public double MsPerItem => Items <= 0 ? 0 : Ms / Items;

        public double CostPerItem => Items <= 0 ? 0 : Cost / Items;
    }
}
