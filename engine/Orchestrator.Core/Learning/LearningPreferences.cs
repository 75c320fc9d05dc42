using System.Text.Json.Nodes;
using Orchestrator.Core.Goals;
using Orchestrator.Core.Strategies;

namespace Orchestrator.Core.Learning;

/// <summary>What learning currently prefers in a phase, under some goals: each strategy's recency-weighted value, best first.</summary>
public sealed record PhasePreference(string Phase, IReadOnlyList<(string Strategy, double Value)> Strategies)
{
    public string Preferred => Strategies[0].Strategy;

    public JsonObject ToJson() => new()
    {
        ["phase"] = Phase,
        ["preferred"] = Preferred,
        ["strategies"] = new JsonArray([.. Strategies.Select(s => (JsonNode)new JsonObject { ["strategy"] = s.Strategy, ["value"] = Math.Round(s.Value, 4) })]),
    };
}

/// <summary>Reads learning's current preferences from a store, as strategy selection would weigh them (without exploration).</summary>
internal static class LearningPreferences
{
    public static async Task<IReadOnlyList<PhasePreference>> ReadAsync(ILearningStore store, string? phase, RunGoals goals, CancellationToken cancellationToken)
    {
        var outcomes = await store.GetOutcomesAsync(phase, cancellationToken).ConfigureAwait(false);
        var preferences = new List<PhasePreference>();
        foreach (var group in outcomes.GroupBy(o => o.Phase, StringComparer.Ordinal))
        {
            var recent = await store.GetRecentAsync(group.Key, StrategySelector.History, cancellationToken).ConfigureAwait(false);
            var candidates = group.Select(o => o.Strategy).Distinct(StringComparer.Ordinal).Select(s => new PhaseStrategy { Name = s }).ToList();
            var ranking = StrategySelector.Rank(candidates, recent, _ => null, 0, goals);
            preferences.Add(new PhasePreference(group.Key, [.. ranking.Select(r => (r.Strategy.Name, double.IsInfinity(r.Score) ? 0 : r.Value))]));
        }

        return preferences;
    }
}
