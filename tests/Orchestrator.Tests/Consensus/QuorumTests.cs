using System.Text.Json.Nodes;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Tests.Consensus;

/// <summary>How each quorum counts votes, and how it explains a consensus that did not happen.</summary>
public sealed class QuorumTests
{
    private static readonly ConsensusPeer[] FourPeers = [.. new[] { "a", "b", "c", "d" }.Select(n => ConsensusPeer.OfAgent("peer", n))];

    [Fact]
    public void A_majority_needs_more_than_half_of_all_peers_and_says_so_when_it_is_missed()
    {
        var tally = Quorum.Majority.Tally(FourPeers, Proposals("a", "b", "c", "d"), Votes(("a", "a"), ("b", "a"), ("c", "b"), ("d", "c")));

        tally["agreed"]!.GetValue<bool>().Should().BeFalse();
        tally["reason"]!.GetValue<string>().Should().Be("no quorum: votes a=2, b=1, c=1 (majority needs 3 of 4)");

        var reached = Quorum.Majority.Tally(FourPeers, Proposals("a", "b", "c", "d"), Votes(("a", "a"), ("b", "a"), ("c", "a"), ("d", "c")));
        reached["agreed"]!.GetValue<bool>().Should().BeTrue();
        reached["winner"]!.GetValue<string>().Should().Be("a");
        reached.ContainsKey("reason").Should().BeFalse();
    }

    [Fact]
    public void Abstentions_count_against_agreement_and_are_named_in_the_reason()
    {
        var tally = Quorum.Majority.Tally(FourPeers, Proposals("a", "b", "c", "d"), Votes(("a", "a"), ("b", "a"), ("c", null), ("d", null)));

        tally["reason"]!.GetValue<string>().Should().Be("no quorum: votes a=2, 2 abstained (majority needs 3 of 4)");
        Quorum.Majority.Tally(FourPeers, Proposals("a", "b", "c", "d"), Votes(("a", null), ("b", null), ("c", null), ("d", null)))["reason"]!
            .GetValue<string>().Should().Be("no quorum: no votes, 4 abstained (majority needs 3 of 4)");
        Quorum.Majority.Tally(FourPeers, new JsonObject { ["a"] = null, ["b"] = null, ["c"] = null, ["d"] = null }, new JsonObject())["reason"]!
            .GetValue<string>().Should().Be("no quorum: no peer made a proposal (majority needs 3 of 4)");
    }

    [Fact]
    public void A_tie_among_proposals_that_each_reach_the_quorum_is_no_quorum()
    {
        var three = FourPeers[..3];
        var tally = Quorum.AtLeast(1).Tally(three, Proposals("a", "b", "c"), Votes(("a", "a"), ("b", "b"), ("c", "c")));

        tally["agreed"]!.GetValue<bool>().Should().BeFalse();
        tally["reason"]!.GetValue<string>().Should().Be("no quorum: tie between a, b and c: votes a=1, b=1, c=1 (at least 1 of 3 needed)");
    }

    [Fact]
    public void A_weighted_quorum_counts_weight_and_takes_its_threshold_strictly()
    {
        var quorum = Quorum.Weighted(new() { ["a"] = 2 }, threshold: 0.4);

        // Total weight 5: a alone holds 2, which is not more than 0.4 of 5.
        var missed = quorum.Tally(FourPeers, Proposals("a", "b", "c", "d"), Votes(("a", "a"), ("b", "b"), ("c", "c"), ("d", "d")));
        missed["reason"]!.GetValue<string>().Should().Be("no quorum: weight a=2, b=1, c=1, d=1 (weighted needs more than 2 of 5)");

        var reached = quorum.Tally(FourPeers, Proposals("a", "b", "c", "d"), Votes(("a", "a"), ("b", "a"), ("c", "c"), ("d", "d")));
        reached["winner"]!.GetValue<string>().Should().Be("a");
        reached["counts"]!.ToJsonString().Should().Be("""{"a":3,"c":1,"d":1,"b":0}""");
    }

    [Theory]
    [InlineData("\"majority\"", "\"majority\"")]
    [InlineData("null", "\"majority\"")]
    [InlineData("\"unanimous\"", "\"unanimous\"")]
    [InlineData("3", """{"atLeast":3}""")]
    [InlineData("""{"atLeast":2}""", """{"atLeast":2}""")]
    [InlineData("\"weighted\"", """{"weighted":true,"threshold":0.5}""")]
    [InlineData("""{"weighted":{"lead":2,"dev":1},"threshold":0.6}""", """{"weighted":{"lead":2,"dev":1},"threshold":0.6}""")]
    public void Quorums_parse_from_the_json_scripts_write_and_journal_the_same_way(string spec, string journaled)
    {
        Quorum.Parse(JsonNode.Parse(spec)).ToJson().ToJsonString().Should().Be(journaled);
    }

    [Theory]
    [InlineData("\"most\"", "unknown quorum \"most\"")]
    [InlineData("""{"atLeast":0}""", "quorum atLeast must be a whole number of at least 1, not 0")]
    [InlineData("""{"atLeast":2,"weighted":true}""", "unknown quorum")]
    [InlineData("""{"weighted":{"a":-1}}""", "the weight of peer 'a' must be a number of at least 0")]
    [InlineData("""{"weighted":true,"threshold":1}""", "a weighted quorum's threshold is a fraction from 0 up to (not including) 1")]
    public void A_quorum_that_makes_no_sense_is_refused_with_a_reason(string spec, string message)
    {
        var parse = () => Quorum.Parse(JsonNode.Parse(spec));

        parse.Should().Throw<ArgumentException>().Which.Message.Should().StartWith(message);
    }

    private static JsonObject Proposals(params string[] peers) => new([.. peers.Select(p => KeyValuePair.Create(p, (JsonNode?)JsonValue.Create("plan " + p)))]);

    private static JsonObject Votes(params (string Voter, string? Choice)[] votes) =>
        new([.. votes.Select(v => KeyValuePair.Create(v.Voter, (JsonNode?)(v.Choice is null ? null : JsonValue.Create(v.Choice))))]);
}
