using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Journal;

namespace Orchestrator.Cli.Commands.Runs;

/// <summary>
/// <c>orchestrator runs verify &lt;id&gt;|--all</c>: checks runs' journals against their hash chains, read-only. Exit 0
/// when every run checked is intact, 1 when one was altered (its first bad entry is named), 2 for bad input.
/// </summary>
internal static class RunsVerifyCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string?>("id") { Description = "The run's id.", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "Verify every run in the store." };
        var store = CommonOptions.Store();
        var verify = new Command("verify", "Check runs' journals against their hash chains (read-only): exit 0 intact, 1 altered (the first entry that does not match is named), 2 bad input.")
        {
            id, all, store,
        };
        verify.SetAction((parse, ct) => VerifyAsync(console, parse.GetValue(store)!, parse.GetValue(id), parse.GetValue(all), ct));
        return verify;
    }

    private static async Task<int> VerifyAsync(CliConsole console, string storeDirectory, string? id, bool all, CancellationToken ct)
    {
        if ((id is null) == !all)
        {
            throw new CliException("runs verify needs a run id or --all, not both.");
        }

        if (Core.Journal.Postgres.PostgresConnection.IsPostgres(storeDirectory))
        {
            await using var session = StoreSession.OpenExisting(storeDirectory, console);
            using var opened = session.Journal.OpenVerifier();
            return Verify(console, opened, session.Journal.Location, id, all, ct);
        }

        var directory = StoreSession.RequireExisting(storeDirectory);
        JournalVerifier verifier;
        try
        {
            verifier = JournalVerifier.Open(Path.Combine(directory, StoreIntegrity.JournalFileName));
        }
        catch (JournalFormatException ex)
        {
            throw new CliException(ex.Message);
        }

        using (verifier)
        {
            return Verify(console, verifier, directory, id, all, ct);
        }
    }

    private static int Verify(CliConsole console, JournalVerifier verifier, string store, string? id, bool all, CancellationToken ct)
    {
        {
            IReadOnlyList<string> ids = all ? verifier.RunIds() : [id!];
            var altered = 0;
            foreach (var runId in ids)
            {
                var verdict = verifier.Verify(runId, ct) ?? throw new CliException($"no run with id '{runId}' in {store}");
                console.Line(Describe(verdict));
                altered += verdict.Intact ? 0 : 1;
            }

            if (all)
            {
                console.Line(altered == 0 ? $"{ids.Count} runs verified: all intact" : $"{ids.Count} runs verified: {altered} altered");
            }

            return altered == 0 ? ExitCodes.Success : ExitCodes.Failed;
        }
    }

    /// <summary>The one line <c>runs verify</c> prints for a run.</summary>
    internal static string Describe(ChainVerdict verdict)
    {
        if (verdict.Break is { } broken)
        {
            return broken.StepId is null
                ? $"run {verdict.RunId}: does not match: {broken.Reason}"
                : $"run {verdict.RunId}: entry seq {broken.Seq} (step {broken.StepId}) does not match: {broken.Reason}";
        }

        if (verdict.FinalHash is null)
        {
            return $"run {verdict.RunId}: {verdict.Entries} entries, all from before journal format 6: not chained";
        }

        var entries = verdict.Unchained == 0
            ? $"{verdict.Entries} entries"
            : $"{verdict.Entries} entries ({verdict.Unchained} from before journal format 6, not chained)";
        return $"run {verdict.RunId}: {entries}, chain intact, final hash {verdict.FinalHash}";
    }
}
