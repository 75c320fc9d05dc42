using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.Cli.Progress;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Cli.Commands.Run;

/// <summary><c>orchestrator resume &lt;id&gt;</c>: run an unfinished run's script again, replaying the steps it already finished.</summary>
internal static class ResumeCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The run to resume (see 'orchestrator runs')." };
        var store = CommonOptions.Store();
        var plugins = CommonOptions.Plugins();
        var verbose = CommonOptions.Verbose();
        var json = CommonOptions.Json();
        var quiet = CommonOptions.Quiet();
        var watch = CommonOptions.WatchPlugins();
        var timeout = CommonOptions.Timeout();
        var mcpConfig = CommonOptions.McpConfig();
        var noCache = CommonOptions.NoCache();
        var force = new Option<bool>("--force")
        {
            Description = "Resume even though the script changed since the run started, or another machine records it as running (on a shared PostgreSQL store; its process is gone).",
        };
        var connectors = ConnectorFiles.ConnectorsOption();
        var secrets = ConnectorFiles.SecretsOption();
        var otlp = Telemetry.TelemetryOptions.Otlp();
        var otelConsole = Telemetry.TelemetryOptions.Console();
        var host = RemoteRun.HostOption();
        var noHost = RemoteRun.NoHostOption();

        var command = new Command("resume", "Resume an interrupted, cancelled or failed run: finished steps are replayed from the journal, not run again.")
        {
            id, store, plugins, watch, json, quiet, force, timeout, connectors, secrets, mcpConfig, noCache, otlp, otelConsole, host, noHost, verbose,
        };
        command.SetAction(async (parse, ct) =>
        {
            var needsThisProcess = (parse.GetValue(plugins) ?? []).Length > 0 || parse.GetValue(watch) || parse.GetValue(noCache) || parse.GetValue(verbose)
                || parse.GetValue(timeout) is not null || parse.GetValue(mcpConfig) is not null || parse.GetValue(connectors) is not null
                || parse.GetValue(secrets) is not null || parse.GetValue(otlp) is not null || parse.GetValue(otelConsole);
            if (RemoteRun.Find(parse.GetValue(store)!, parse.GetValue(host), parse.GetValue(noHost), needsThisProcess) is { } remote
                && await remote.ResumeAsync(console, parse.GetValue(id)!, parse.GetValue(force), parse.GetValue(json), parse.GetValue(quiet), ct) is { } exitCode)
            {
                return exitCode;
            }

            return await ResumeAsync(
            console, parse.GetValue(id)!, parse.GetValue(store)!, parse.GetValue(plugins) ?? [], parse.GetValue(json), parse.GetValue(quiet), parse.GetValue(force), parse.GetValue(timeout), parse.GetValue(mcpConfig), parse.GetValue(verbose), parse.GetValue(watch), !parse.GetValue(noCache),
            new ConnectorFiles(parse.GetValue(connectors), parse.GetValue(secrets)), (parse.GetValue(otlp), parse.GetValue(otelConsole)), ct);
        });
        return command;
    }

    /// <summary>Resumes a run in this process with the store's own plugins and settings: what <c>approve --resume</c> does.</summary>
    internal static Task<int> ResumeHereAsync(CliConsole console, string id, string store, bool json, bool quiet, CancellationToken cancellationToken) =>
        ResumeAsync(console, id, store, [], json, quiet, force: false, timeoutText: null, mcpConfig: null, verbose: false, watchPlugins: false, useCache: true, ConnectorFiles.None, (null, false), cancellationToken);

    private static async Task<int> ResumeAsync(
        CliConsole console, string id, string store, string[] plugins, bool json, bool quiet, bool force, string? timeoutText, string? mcpConfig, bool verbose, bool watchPlugins, bool useCache, ConnectorFiles connectorFiles, (string? Otlp, bool Console) export, CancellationToken cancellationToken)
    {
        var timeout = CommonOptions.ParseDuration(timeoutText, "--timeout");
        using var telemetry = Telemetry.TelemetryOptions.Start(export.Otlp, export.Console);
        RunRecord run;

        // A resume never creates a store: with none there, there is no run to resume.
        if (!Core.Journal.Postgres.PostgresConnection.IsPostgres(store) && !File.Exists(Path.Combine(Path.GetFullPath(store), StoreIntegrity.JournalFileName)))
        {
            throw new CliException($"no run with id '{id}': there is no store at '{Path.GetFullPath(store)}'");
        }

        await using (var session = StoreSession.OpenExisting(store, console))
        {
            run = await session.Journal.GetRunAsync(id, cancellationToken) ?? throw new CliException($"no run with id '{id}' in {session.Journal.Location}");
            if (run.Status == RunStatus.Running && !RunLiveness.IsInterrupted(run, session.Journal.SharedAcrossMachines))
            {
                // Another machine's process cannot be seen from here: only the user can say it is gone.
                if (!RunLiveness.IsInterrupted(run))
                {
                    throw new CliException($"run {id} is still running in process {run.Pid}; stop it first");
                }

                if (!force)
                {
                    throw new CliException($"run {id} is recorded as running on {run.Host} (process {run.Pid}); if that process is gone, resume it with --force");
                }
            }

            // Replay trusts the journal: one altered outside the engine is refused before anything is written.
            using var verifier = session.Journal.OpenVerifier();
            if (verifier.Verify(id, cancellationToken) is { Intact: false } verdict)
            {
                throw new CliException($"{Runs.RunsVerifyCommand.Describe(verdict)}; it is not resumed");
            }
        }

        await using var host = WorkflowHost.Open(console, run.Script, store, plugins, mcpConfig, verbose, useCache, cancellationToken, connectorFiles, watchPlugins, oneRunProcess: console.OwnsProcess);
        try
        {
            RunOutcome outcome;
            await using (var progress = RunProgress.For(console, json, quiet))
            {
                outcome = await RunObservation.Create(progress, timeout, host.Circuits).RunAsync(options => host.Engine.ResumeAsync(host.Program, id, force, cancellationToken, options));
            }

            return RunOutput.Report(console, outcome, json, quiet);
        }
        catch (ResumeRefusedException ex)
        {
            throw new CliException(ex.Message);
        }
    }
}
