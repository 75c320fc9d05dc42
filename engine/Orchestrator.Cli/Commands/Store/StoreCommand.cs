using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Journal;

namespace Orchestrator.Cli.Commands.Store;

/// <summary>
/// <c>orchestrator store check|salvage|stats</c>: the store's health, rescuing the readable runs of a damaged one,
/// and what it holds. Nothing here writes into the store it looks at.
/// </summary>
internal static class StoreCommand
{
    /// <summary>How many of SQLite's integrity problems are printed; the count says if there were more.</summary>
    private const int ProblemLimit = 100;

    public static Command Create(CliConsole console)
    {
        var store = CommonOptions.Store();
        var check = new Command("check", "Run SQLite's integrity check on the journal (read-only) and list the runs whose rows cannot be read. Exit 0 when healthy, 2 when damaged.") { store };
        check.SetAction(parse => Check(console, parse.GetValue(store)!));

        return new Command("store", "Check, salvage and measure the store.")
        {
            check,
            StoreSalvageCommand.Create(console),
            StoreStatsCommand.Create(console),
        };
    }

    private static int Check(CliConsole console, string storeDirectory)
    {
        var directory = StoreSession.RequireExisting(storeDirectory);
        var path = Path.Combine(directory, StoreIntegrity.JournalFileName);
        var problems = StoreIntegrity.Check(path, quick: false, limit: ProblemLimit + 1);
        SalvageProbe probe;
        using (var salvage = StoreSalvage.Open(path))
        {
            probe = salvage.Probe();
        }

        var runs = probe.Readable.Count + probe.Unreadable.Count;
        if (problems.Count == 0 && probe.Unreadable.Count == 0 && probe.ListingProblems.Count == 0)
        {
            console.Line($"store '{directory}' is healthy: SQLite's integrity check found nothing and all {runs} runs read whole");
            return ExitCodes.Success;
        }

        if (problems.Count > 0)
        {
            console.Line("damage (SQLite's integrity check):");
            foreach (var problem in problems.Take(ProblemLimit))
            {
                console.Line("  " + problem);
            }

            if (problems.Count > ProblemLimit)
            {
                console.Line($"  … and more (the first {ProblemLimit} are shown)");
            }
        }

        foreach (var problem in probe.ListingProblems)
        {
            console.Line(problem);
        }

        if (probe.Unreadable.Count > 0)
        {
            console.Line("affected runs (their rows cannot be read):");
            TextTable.Write(console, ["ID", "PROBLEM"], [.. probe.Unreadable.Select(r => new[] { r.Id, r.Problem })]);
        }

        console.Line($"readable runs: {probe.Readable.Count}; copy them into a new store with 'orchestrator store salvage --out DIR'");
        var found = problems.Count switch
        {
            0 => "its rows cannot all be read",
            > ProblemLimit => $"more than {ProblemLimit} problems, the first: {problems[0]}",
            1 => problems[0],
            _ => $"{problems.Count} problems, the first: {problems[0]}",
        };
        console.Line($"store '{directory}' is damaged: {found}; {probe.Unreadable.Count} of {runs} runs affected");
        return ExitCodes.BadInput;
    }
}
