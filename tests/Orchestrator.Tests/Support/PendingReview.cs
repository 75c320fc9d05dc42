using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Learning;

namespace Orchestrator.Tests.Support;

/// <summary>A store whose review queue holds one pending, high-risk recommendation (#1: swap flaky for solid).</summary>
internal static class PendingReview
{
    public const string Summary = "swap the primary agent of strategy 'main' from flaky to solid";

    public static async Task AddAsync(string store)
    {
        await using var journal = SqliteJournal.Open(store);
        await journal.Learning.AddRecommendationAsync(new Recommendation
        {
            CreatedAt = DateTimeOffset.UnixEpoch,
            RunId = "r1",
            Phase = "summarize",
            Strategy = "main",
            Kind = "swap-agent",
            Risk = RecommendationRisk.High,
            Summary = Summary,
            Change = new JsonObject { ["agent"] = "solid" },
        }, CancellationToken.None);
    }
}
