using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Journal;

namespace Orchestrator.Cli.Commands.Runs;

/// <summary><c>orchestrator runs</c> and <c>runs show &lt;id&gt;</c>: what the journal holds.</summary>
internal static class RunsCommand
{
    public static Command Create(CliConsole console)
    {
        var store = CommonOptions.Store();
        var command = new Command("runs", "List past runs.") { store };
        command.SetAction((parse, ct) => ListAsync(console, parse.GetValue(store)!, ct));

        var id = new Argument<string>("id") { Description = "The run's id." };
        var showStore = CommonOptions.Store();
        var show = new Command("show", "Show one run and its steps.") { id, showStore };
        show.SetAction((parse, ct) => ShowAsync(console, parse.GetValue(showStore)!, parse.GetValue(id)!, ct));
        command.Subcommands.Add(show);
        return command;
    }

    private static async Task<int> ListAsync(CliConsole console, string storeDirectory, CancellationToken ct)
    {
        await using var session = StoreSession.Open(storeDirectory, verbose: false);
        var runs = await session.Journal.ListRunsAsync(ct);
        var rows = runs.Select(r => new[]
        {
            r.Id,
            Status(r.Status),
            r.StartedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
            Duration(r.DurationMs),
            Path.GetRelativePath(Environment.CurrentDirectory, r.Script),
        }).ToList();
        TextTable.Write(console, ["ID", "STATUS", "STARTED", "DURATION", "SCRIPT"], rows);
        return ExitCodes.Success;
    }

    private static async Task<int> ShowAsync(CliConsole console, string storeDirectory, string id, CancellationToken ct)
    {
        await using var session = StoreSession.Open(storeDirectory, verbose: false);
        var run = await session.Journal.GetRunAsync(id, ct) ?? throw new CliException($"no run with id '{id}' in {session.Directory}");
        var steps = StepFolding.Fold(await session.Journal.GetEntriesAsync(id, ct));

        console.Line($"run      {run.Id}");
        console.Line($"script   {run.Script} ({run.Language}, sha256 {run.ScriptHash[..12]})");
        console.Line($"status   {Status(run.Status)}");
        console.Line($"started  {run.StartedAt.ToLocalTime():yyyy-MM-dd HH:mm:ss.fff}");
        console.Line($"duration {Duration(run.DurationMs)}");
        if (run.Error is not null)
        {
            console.Line($"error    {run.Error}");
        }

        if (run.Report is not null)
        {
            console.Line($"report   {run.Report}");
        }

        console.Line("");
        var rows = steps.Select(s => new[]
        {
            s.Id,
            s.Kind,
            s.Agent ?? "",
            Status(s.Status),
            Duration(s.DurationMs),
            s.Error ?? "",
        }).ToList();
        TextTable.Write(console, ["STEP", "KIND", "AGENT", "STATUS", "DURATION", "ERROR"], rows);
        return ExitCodes.Success;
    }

    private static string Status(RunStatus status) => status.ToString().ToLowerInvariant();

    private static string Duration(double? ms) => ms is { } value ? value.ToString("0", CultureInfo.InvariantCulture) + " ms" : "-";
}
