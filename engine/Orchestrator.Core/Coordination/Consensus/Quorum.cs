using System.Globalization;
using System.Text.Json.Nodes;

namespace Orchestrator.Core.Workflow;

/// <summary>
/// What makes a consensus: the proposal with the most support wins if its support reaches the quorum and no other
/// proposal has as much. Support is counted over all the peers, so a peer that abstains (or proposes nothing and
/// votes for nothing) counts against agreement, never for it.
/// </summary>
public abstract class Quorum
{
    private protected Quorum()
    {
    }

    /// <summary>More than half of the peers vote for the same proposal.</summary>
    public static Quorum Majority { get; } = new MajorityQuorum();

    /// <summary>Every peer votes for the same proposal.</summary>
    public static Quorum Unanimous { get; } = new UnanimousQuorum();

    /// <summary>At least <paramref name="count"/> of the peers (N of M) vote for the same proposal, and no other proposal has as many.</summary>
    public static Quorum AtLeast(int count) => count >= 1
        ? new AtLeastQuorum(count)
        : throw new ArgumentException("a quorum of at least N needs N of at least 1");

    /// <summary>
    /// The voters for one proposal hold more than <paramref name="threshold"/> of the peers' total weight. A peer's
    /// weight is its entry in <paramref name="weights"/> (by peer name), else its own <see cref="ConsensusPeer.Weight"/>.
    /// </summary>
    /// <remarks>A concrete dictionary, so that scripts can write <c>Quorum.Weighted(new() { ["lead"] = 2 })</c>.</remarks>
    public static Quorum Weighted(Dictionary<string, double>? weights = null, double threshold = 0.5)
    {
        if (!double.IsFinite(threshold) || threshold < 0 || threshold >= 1)
        {
            throw new ArgumentException("a weighted quorum's threshold is a fraction from 0 up to (not including) 1");
        }

        var copy = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (peer, weight) in weights ?? new Dictionary<string, double>())
        {
            copy[peer] = double.IsFinite(weight) && weight >= 0
                ? weight
                : throw new ArgumentException($"the weight of peer '{peer}' must be a number of at least 0");
        }

        return new WeightedQuorum(copy, threshold);
    }

    /// <summary>
    /// A quorum as scripts spell it: <c>"majority"</c>, <c>"unanimous"</c>, <c>"weighted"</c> (the peers' own weights),
    /// a number N or <c>{ "atLeast": N }</c>, <c>{ "weighted": { "peer": weight, … } | true, "threshold": 0.5 }</c>; null is a majority.
    /// </summary>
    public static Quorum Parse(JsonNode? spec) => spec switch
    {
        null => Majority,
        JsonValue text when text.TryGetValue<string>(out var name) => name.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant() switch
        {
            "majority" => Majority,
            "unanimous" or "all" => Unanimous,
            "weighted" => Weighted(),
            _ => throw Unknown(spec),
        },
        JsonValue number when Whole(number) is { } n => AtLeast(n),
        JsonObject bag => ParseObject(bag),
        _ => throw Unknown(spec),
    };

    /// <summary>The quorum as the journal (and <see cref="Parse"/>) spells it.</summary>
    public abstract JsonNode ToJson();

    public override string ToString() => ToJson().ToJsonString();

    /// <summary>Whether the quorum can work with these peers at all; throws <see cref="ArgumentException"/> naming the consensus if not.</summary>
    internal virtual void Validate(string consensus, IReadOnlyList<ConsensusPeer> peers)
    {
    }

    /// <summary>What one peer's vote counts for: 1, except in a weighted quorum.</summary>
    internal virtual double WeightOf(ConsensusPeer peer) => 1;

    /// <summary>Whether <paramref name="support"/> for one proposal is enough, out of the peers' <paramref name="total"/>.</summary>
    internal abstract bool Reached(double support, double total);

    /// <summary>What the quorum needs, for messages: <c>majority needs 3 of 4</c>.</summary>
    internal abstract string Needs(double total);

    /// <summary>What the counts are, for messages: votes, or weight.</summary>
    internal virtual string CountsAre => "votes";

    /// <summary>
    /// Counts the votes: identical proposals are one candidate, named after the first peer (in peer order) that made
    /// it, so that votes for either count together. Returns the tally the step journals:
    /// <c>{ agreed, winner, quorum, votes, counts, needed, reason? }</c>.
    /// </summary>
    internal JsonObject Tally(IReadOnlyList<ConsensusPeer> peers, JsonObject proposals, JsonObject votes)
    {
        var candidates = new List<string>();
        var representative = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var peer in peers)
        {
            if (proposals[peer.Name] is not { } proposal)
            {
                continue;
            }

            var same = candidates.FirstOrDefault(c => JsonNode.DeepEquals(proposals[c], proposal));
            if (same is null)
            {
                candidates.Add(peer.Name);
            }

            representative[peer.Name] = same ?? peer.Name;
        }

        var support = candidates.ToDictionary(c => c, _ => 0.0, StringComparer.Ordinal);
        var abstained = 0;
        foreach (var peer in peers)
        {
            if (votes[peer.Name] is JsonValue vote && vote.TryGetValue<string>(out var choice) && representative.TryGetValue(choice, out var candidate))
            {
                support[candidate] += WeightOf(peer);
            }
            else
            {
                abstained++;
            }
        }

        var total = peers.Sum(WeightOf);
        var ranked = candidates.OrderByDescending(c => support[c]).ToList();
        var counted = ranked.Where(c => support[c] > 0).ToList();
        var tie = counted.Count > 1 && support[counted[0]] == support[counted[1]];
        var agreed = counted.Count > 0 && !tie && Reached(support[counted[0]], total);
        var counts = new JsonObject();
        foreach (var c in ranked)
        {
            counts[c] = support[c];
        }

        var tally = new JsonObject
        {
            ["agreed"] = agreed,
            ["winner"] = agreed ? counted[0] : null,
            ["quorum"] = ToJson(),
            ["votes"] = votes.DeepClone(),
            ["counts"] = counts,
            ["needed"] = Needs(total),
        };
        if (!agreed)
        {
            var listed = counted.Count == 0 ? "no votes" : CountsAre + " " + string.Join(", ", counted.Select(c => $"{c}={Format(support[c])}"));
            if (abstained > 0 && candidates.Count > 0)
            {
                listed += $", {abstained} abstained";
            }

            // A tie is the reason only when the tied proposals had enough support; otherwise too little support is.
            var tied = counted.Where(c => support[c] == support[counted[0]]).ToList();
            var why = candidates.Count == 0 ? "no peer made a proposal"
                : tie && Reached(support[counted[0]], total) ? $"tie between {string.Join(", ", tied[..^1])} and {tied[^1]}: {listed}"
                : listed;
            tally["reason"] = $"no quorum: {why} ({Needs(total)})";
        }

        return tally;
    }

    private protected static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    private static int? Whole(JsonNode? value) =>
        value is JsonValue number && number.TryGetValue<double>(out var n) && n is >= 1 and <= int.MaxValue && Math.Floor(n) == n ? (int)n : null;

    private static ArgumentException Unknown(JsonNode? spec) => new(
        $"unknown quorum {spec?.ToJsonString() ?? "null"}; use \"majority\", \"unanimous\", {{ \"atLeast\": 2 }} or {{ \"weighted\": {{ \"peer\": 2 }}, \"threshold\": 0.5 }}");

    private static Quorum ParseObject(JsonObject bag)
    {
        var keys = bag.Select(p => p.Key).ToList();
        if (keys is ["atLeast"])
        {
            return Whole(bag["atLeast"]) is { } n
                ? AtLeast(n)
                : throw new ArgumentException($"quorum atLeast must be a whole number of at least 1, not {bag["atLeast"]?.ToJsonString() ?? "null"}");
        }

        if (keys.Contains("weighted") && keys.All(k => k is "weighted" or "threshold"))
        {
            var threshold = bag["threshold"] switch
            {
                null => 0.5,
                JsonValue t when t.TryGetValue<double>(out var fraction) => fraction,
                var other => throw new ArgumentException($"quorum threshold must be a number, not {other.ToJsonString()}"),
            };
            return bag["weighted"] switch
            {
                JsonValue on when on.TryGetValue<bool>(out var yes) && yes => Weighted(null, threshold),
                JsonObject weights => Weighted(weights.ToDictionary(w => w.Key, w => WeightValue(w.Key, w.Value), StringComparer.Ordinal), threshold),
                var other => throw new ArgumentException($"quorum weighted must map peer names to weights, or be true for the peers' own, not {other?.ToJsonString() ?? "null"}"),
            };
        }

        throw Unknown(bag);
    }

    private static double WeightValue(string peer, JsonNode? value) => value is JsonValue number && number.TryGetValue<double>(out var weight)
        ? weight
        : throw new ArgumentException($"the weight of peer '{peer}' must be a number, not {value?.ToJsonString() ?? "null"}");

    private sealed class MajorityQuorum : Quorum
    {
        public override JsonNode ToJson() => JsonValue.Create("majority");

        internal override bool Reached(double support, double total) => support * 2 > total;

        internal override string Needs(double total) => $"majority needs {Format(Math.Floor(total / 2) + 1)} of {Format(total)}";
    }

    private sealed class UnanimousQuorum : Quorum
    {
        public override JsonNode ToJson() => JsonValue.Create("unanimous");

        internal override bool Reached(double support, double total) => support >= total;

        internal override string Needs(double total) => $"unanimous needs {Format(total)} of {Format(total)}";
    }

    private sealed class AtLeastQuorum(int count) : Quorum
    {
        public override JsonNode ToJson() => new JsonObject { ["atLeast"] = count };

        internal override void Validate(string consensus, IReadOnlyList<ConsensusPeer> peers)
        {
            if (count > peers.Count)
            {
                throw new ArgumentException($"consensus '{consensus}': a quorum of at least {count} can never be met by {peers.Count} peers");
            }
        }

        internal override bool Reached(double support, double total) => support >= count;

        internal override string Needs(double total) => $"at least {count} of {Format(total)} needed";
    }

    private sealed class WeightedQuorum(Dictionary<string, double> weights, double threshold) : Quorum
    {
        internal override string CountsAre => "weight";

        public override JsonNode ToJson()
        {
            JsonNode weighted = weights.Count == 0 ? JsonValue.Create(true) : new JsonObject([.. weights.Select(w => KeyValuePair.Create(w.Key, (JsonNode?)w.Value))]);
            return new JsonObject { ["weighted"] = weighted, ["threshold"] = threshold };
        }

        internal override void Validate(string consensus, IReadOnlyList<ConsensusPeer> peers)
        {
            var unknown = weights.Keys.FirstOrDefault(name => peers.All(p => p.Name != name));
            if (unknown is not null)
            {
                throw new ArgumentException($"consensus '{consensus}': the weighted quorum gives a weight to '{unknown}', which is no peer; peers: {string.Join(", ", peers.Select(p => p.Name))}");
            }

            if (peers.Sum(WeightOf) <= 0)
            {
                throw new ArgumentException($"consensus '{consensus}': the peers' weights add up to 0, so no vote could count");
            }
        }

        internal override double WeightOf(ConsensusPeer peer) => weights.TryGetValue(peer.Name, out var weight) ? weight : peer.Weight;

        internal override bool Reached(double support, double total) => support > threshold * total;

        internal override string Needs(double total) => $"weighted needs more than {Format(threshold * total)} of {Format(total)}";
    }
}
