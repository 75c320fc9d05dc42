using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Hosting;
using Orchestrator.Cli.Commands.Waits;
using Orchestrator.Core.Learning;
using Orchestrator.Core.Waits;

namespace Orchestrator.Cli.Commands.Review;

/// <summary>
/// <c>orchestrator review</c> is the one queue of what waits for a person: the optimization loop's recommendations and
/// the approvals waiting runs ask for. <c>review approve|reject &lt;id&gt;</c> decides a recommendation (by its number)
/// or an approval (by its run id, and its name when the run waits for more than one).
/// </summary>
internal static class ReviewCommand
{
    public static Command Create(CliConsole console)
    {
        var store = CommonOptions.Store();
        var all = new Option<bool>("--all") { Description = "Also list decided and applied recommendations." };
        var command = new Command("review", "List what waits for review: the optimization loop's risky recommendations and the approvals of waiting runs.") { store, all };
        command.SetAction((parse, ct) => ListAsync(console, parse.GetValue(store)!, parse.GetValue(all), ct));
        command.Subcommands.Add(Decide(console, "approve", RecommendationStatus.Approved, "Approve a recommendation (it takes effect from the next run) or a waiting run's approval."));
        command.Subcommands.Add(Decide(console, "reject", RecommendationStatus.Rejected, "Reject a recommendation or a waiting run's approval."));
        return command;
    }

    private static Command Decide(CliConsole console, string verb, RecommendationStatus decision, string description)
    {
        var id = new Argument<string>("id") { Description = "A recommendation's number, or a waiting run's id, as `orchestrator review` lists them." };
        var name = new Argument<string?>("name") { Description = "For a run: the approval's name, when it waits for more than one.", Arity = ArgumentArity.ZeroOrOne };
        var who = DecisionOptions.Create();
        var store = CommonOptions.Store();
        var command = new Command(verb, description) { id, name, who.Comment, who.By, store };
        command.SetAction(async (parse, ct) =>
        {
            var target = parse.GetValue(id)!;
            if (!long.TryParse(target, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                await ApproveCommand.DecideAsync(console, parse.GetValue(store)!, target, parse.GetValue(name), decision == RecommendationStatus.Approved, who.Read(parse), ct);
                return ExitCodes.Success;
            }

            await using var session = StoreSession.OpenExisting(parse.GetValue(store)!, console);
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
        var approvals = (await session.Journal.Waits.ListAsync(runId: null, includeClosed: all, ct)).Where(w => w.Kind == WaitKinds.Approval && (all || w.Decision is null)).ToList();
        if (listed.Count == 0 && approvals.Count == 0)
        {
            console.Line(all ? "no recommendations or approvals yet" : "nothing to review");
            return ExitCodes.Success;
        }

        if (listed.Count > 0)
        {
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
        }

        if (approvals.Count > 0)
        {
            if (listed.Count > 0)
            {
                console.Line("");
            }

            TextTable.Write(console, ["RUN", "APPROVAL", "STATUS", "ASKED", "TIMES OUT", "DATA"], [.. approvals.Select(w => new[]
            {
                w.RunId,
                w.Name,
                w.Decision is { } d ? (d["approved"]?.GetValue<bool>() == true ? "approved" : "rejected") : w.ClosedAt is null ? "pending" : "closed",
                WaitKinds.Timestamp(w.CreatedAt),
                WaitKinds.Timestamp(w.DueAt),
                w.Data?.ToJsonString() ?? "",
            })]);
        }

        return ExitCodes.Success;
    }
}
