using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Learning;

namespace Orchestrator.Cli.Commands.Review;

/// <summary>
/// <c>orchestrator review</c> lists the optimization loop's recommendations; <c>review approve|reject &lt;id&gt;</c>
/// decides a pending one. Approved changes take effect from the next run.
/// </summary>
internal static class ReviewCommand
{
    public static Command Create(CliConsole console)
    {
        var store = CommonOptions.Store();
        var all = new Option<bool>("--all") { Description = "Also list decided and applied recommendations." };
        var command = new Command("review", "List the recommendations waiting for review (risky changes the optimization loop proposed).") { store, all };
        command.SetAction((parse, ct) => ListAsync(console, parse.GetValue(store)!, parse.GetValue(all), ct));
        command.Subcommands.Add(Decide(console, "approve", RecommendationStatus.Approved, "Approve a recommendation: it takes effect from the next run."));
        command.Subcommands.Add(Decide(console, "reject", RecommendationStatus.Rejected, "Reject a recommendation."));
        return command;
    }

    private static Command Decide(CliConsole console, string verb, RecommendationStatus decision, string description)
    {
        var id = new Argument<long>("id") { Description = "The recommendation's id, as `orchestrator review` lists it." };
        var store = CommonOptions.Store();
        var command = new Command(verb, description) { id, store };
        command.SetAction(async (parse, ct) =>
        {
            await using var session = StoreSession.OpenExisting(parse.GetValue(store)!, console);
            var number = parse.GetValue(id);
            var existing = (await session.Journal.Learning.ListRecommendationsAsync(ct)).FirstOrDefault(r => r.Id == number)
                ?? throw new CliException($"no recommendation #{number} in {session.Directory}");
            if (!await session.Journal.Learning.DecideAsync(number, decision, TimeProvider.System.GetUtcNow(), ct))
            {
                throw new CliException($"recommendation #{number} is {existing.Status.ToString().ToLowerInvariant()}, not pending; only pending ones can be decided");
            }

            console.Line($"recommendation #{number} {verb}d: {existing.Summary}" + (decision == RecommendationStatus.Approved ? " (in effect from the next run)" : ""));
            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task<int> ListAsync(CliConsole console, string storeDirectory, bool all, CancellationToken ct)
    {
        await using var session = StoreSession.OpenExisting(storeDirectory, console);
        var listed = (await session.Journal.Learning.ListRecommendationsAsync(ct)).Where(r => all || r.Status == RecommendationStatus.Pending).ToList();
        if (listed.Count == 0)
        {
            console.Line(all ? "no recommendations yet" : "nothing to review");
            return ExitCodes.Success;
        }

        TextTable.Write(console, ["ID", "STATUS", "RISK", "PHASE", "STRATEGY", "CHANGE", "WHY"], [.. listed.Select(r => new[]
        {
            r.Id.ToString(CultureInfo.InvariantCulture),
            r.Status.ToString().ToLowerInvariant(),
            r.Risk.ToString().ToLowerInvariant(),
            r.Phase,
            r.Strategy,
            r.Change.ToJsonString(),
            r.Summary,
        })]);
        return ExitCodes.Success;
    }
}
