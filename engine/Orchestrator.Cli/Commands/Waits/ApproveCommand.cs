using System.CommandLine;
using Orchestrator.Cli.Commands.Run;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Waits;

namespace Orchestrator.Cli.Commands.Waits;

/// <summary>
/// <c>orchestrator approve &lt;runId&gt; [&lt;name&gt;] [--reject] [--comment T] [--by NAME] [--resume]</c>: decides a
/// waiting run's approval. The decision is stored; the run's wait step journals it when the run is resumed.
/// </summary>
internal static class ApproveCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("runId") { Description = "The waiting run (see 'orchestrator runs' or 'orchestrator review')." };
        var name = new Argument<string?>("name") { Description = "The approval's name (or step id); may be left out when the run waits for one approval.", Arity = ArgumentArity.ZeroOrOne };
        var reject = new Option<bool>("--reject") { Description = "Reject instead of approve: the wait step fails, and goes by its severity." };
        var options = DecisionOptions.Create();
        var resume = new Option<bool>("--resume") { Description = "Resume the run in this process at once, after deciding." };
        var store = CommonOptions.Store();
        var json = CommonOptions.Json();
        var command = new Command("approve", "Approve (or --reject) what a waiting run asks for.") { id, name, reject, options.Comment, options.By, resume, store, json };
        command.SetAction(async (parse, ct) =>
        {
            var runId = parse.GetValue(id)!;
            var storeDirectory = parse.GetValue(store)!;
            var continued = await DecideAsync(console, storeDirectory, runId, parse.GetValue(name), !parse.GetValue(reject), options.Read(parse), ct);
            return parse.GetValue(resume) && !continued
                ? await ResumeCommand.ResumeHereAsync(console, runId, storeDirectory, parse.GetValue(json), quiet: false, ct)
                : ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Records the decision and says so; <c>review approve|reject</c> comes here too. True when a host serving the store continues the run.</summary>
    internal static async Task<bool> DecideAsync(CliConsole console, string storeDirectory, string runId, string? name, bool approved, (string By, string? Comment) who, CancellationToken ct)
    {
        await using var session = StoreSession.OpenExisting(storeDirectory, console);
        WaitRecord wait;
        try
        {
            wait = await WaitDecisions.DecideAsync(session.Journal, runId, name, approved, who.By, who.Comment, TimeProvider.System.GetUtcNow(), ct);
        }
        catch (WaitRefusedException ex)
        {
            throw new CliException(ex.Message);
        }

        console.Line($"approval '{wait.Name}' of run {runId} {(approved ? "approved" : "rejected")} by {who.By}");
        return HostNotice.Wake(console, storeDirectory, runId);
    }
}

/// <summary>The <c>--comment</c> and <c>--by</c> options of a decision.</summary>
internal sealed record DecisionOptions(Option<string?> Comment, Option<string?> By)
{
    public static DecisionOptions Create() => new(
        new Option<string?>("--comment") { Description = "Why: kept with the decision and shown in the report." },
        new Option<string?>("--by") { Description = "Who decides (default: the current user)." });

    public (string By, string? Comment) Read(ParseResult parse)
    {
        var by = parse.GetValue(By);
        if (by is not null && string.IsNullOrWhiteSpace(by))
        {
            throw new CliException("--by: a name is required");
        }

        return (by ?? Environment.UserName, parse.GetValue(Comment));
    }
}
