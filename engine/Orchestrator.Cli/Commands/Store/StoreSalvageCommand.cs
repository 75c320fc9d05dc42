using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Journal;

namespace Orchestrator.Cli.Commands.Store;

/// <summary><c>orchestrator store salvage --out DIR</c>: copies every readable run of a (damaged) store into a new one.</summary>
internal static class StoreSalvageCommand
{
    public static Command Create(CliConsole console)
    {
        var store = CommonOptions.Store();
        var output = new Option<string>("--out")
        {
            Description = "The new store folder: it must not exist or be empty.",
            Required = true,
        };
        var command = new Command(
            "salvage",
            "Copy every readable run (its record and journal rows) and the learning and review tables into a new store, and list what could not be read. The store itself is only read. Exit 0 when everything was copied, 1 when something could not be read.")
        {
            output, store,
        };
        command.SetAction((parse, ct) => SalvageAsync(console, parse.GetValue(store)!, parse.GetValue(output)!));
        return command;
    }

    private static async Task<int> SalvageAsync(CliConsole console, string storeDirectory, string outDirectory)
    {
        var directory = StoreSession.RequireExisting(storeDirectory);
        var target = Path.GetFullPath(outDirectory);
        if (File.Exists(target) || (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any()))
        {
            throw new CliException($"--out '{target}' is not an empty folder; salvage writes only into a new store");
        }

        using var salvage = StoreSalvage.Open(Path.Combine(directory, StoreIntegrity.JournalFileName));
        if (salvage.FormatVersion() is { } format && format > SqliteJournal.FormatVersion)
        {
            throw new CliException($"store '{directory}' has journal format {format}, newer than this engine understands ({SqliteJournal.FormatVersion}); salvage it with a newer orchestrator");
        }

        var probe = salvage.Probe();

        // The new store's journal is made as any store's is, at this engine's format; the rows then go in.
        await (await Task.Run(() => SqliteJournal.Open(target))).DisposeAsync();
        var (copied, lost) = salvage.CopyTo(probe, Path.Combine(target, StoreIntegrity.JournalFileName));

        foreach (var id in copied)
        {
            console.Line($"salvaged     {id}");
        }

        foreach (var run in probe.Unreadable)
        {
            console.Line($"not readable {run.Id}: {run.Problem}");
        }

        foreach (var problem in probe.ListingProblems.Concat(lost))
        {
            console.Line($"not readable {problem}");
        }

        var unread = probe.Unreadable.Count + probe.ListingProblems.Count + lost.Count;
        console.Line($"salvaged {copied.Count} of {probe.Readable.Count + probe.Unreadable.Count} runs from '{directory}' into '{target}'"
            + (unread == 0 ? "" : $"; {unread} {(unread == 1 ? "thing" : "things")} could not be read (listed above)"));
        return unread == 0 ? ExitCodes.Success : ExitCodes.Failed;
    }
}
