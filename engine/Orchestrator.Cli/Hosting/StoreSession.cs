using Microsoft.Data.Sqlite;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Secrets;
using Serilog;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;

namespace Orchestrator.Cli.Hosting;

/// <summary>An open store folder: its journal and the log that goes with it.</summary>
internal sealed class StoreSession : IAsyncDisposable
{
    private StoreSession(string directory, SqliteJournal journal, Logger log, SecretRegistry secrets)
    {
        Secrets = secrets;
        Directory = directory;
        Journal = journal;
        Log = log;
    }

    public string Directory { get; }

    public SqliteJournal Journal { get; }

    public Logger Log { get; }

    /// <summary>The secrets handed out in this session (connector credentials): the journal, the log and the reports redact them.</summary>
    public SecretRegistry Secrets { get; }

    /// <summary>
    /// Opens the store; a journal of an unknown format or an unreadable file is bad input, never misread.
    /// A journal of an older format is migrated, which is logged and, given a <paramref name="console"/>, said on stderr.
    /// </summary>
    public static StoreSession Open(string storeDirectory, bool verbose, CliConsole? console = null)
    {
        var directory = Path.GetFullPath(storeDirectory);
        var secrets = new SecretRegistry();
        SqliteJournal journal;
        try
        {
            journal = SqliteJournal.Open(directory, secrets);
        }
        catch (Exception ex) when (ex is JournalFormatException or SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot open the store '{directory}': {ex.Message}");
        }

        // Every sink sits behind the redacting wrapper, so no secret reaches a log file or the console.
        var config = new LoggerConfiguration()
            .MinimumLevel.Debug()
            .Enrich.FromLogContext();
        var redacting = LoggerSinkConfiguration.Wrap(
            sink => new RedactingSink(sink, secrets),
            sinks =>
            {
                sinks.File(
                    Path.Combine(directory, "logs", "orchestrator-.log"),
                    restrictedToMinimumLevel: LogEventLevel.Information,
                    rollingInterval: RollingInterval.Day,
                    retainedFileCountLimit: 14,
                    shared: true);
                if (verbose)
                {
                    sinks.Console(standardErrorFromLevel: LogEventLevel.Verbose);
                }
            });
        config = config.WriteTo.Sink(redacting);

        var session = new StoreSession(directory, journal, config.CreateLogger(), secrets);
        if (session.MigrationNotice is { } notice)
        {
            // Verbose sessions already log to stderr; otherwise the console (if any) says it once.
            session.Log.Information("Store {Store}: {Notice}", directory, notice);
            if (!verbose)
            {
                console?.Error(notice);
            }
        }

        return session;
    }

    /// <summary>The message a migration on open is reported with, for verbs that print it themselves.</summary>
    public string? MigrationNotice => Journal.MigratedFromVersion is { } from
        ? $"migrated the journal from format {from} to {SqliteJournal.FormatVersion} ({Journal.DatabasePath})"
        : null;

    public async ValueTask DisposeAsync()
    {
        await Journal.DisposeAsync();
        await Log.DisposeAsync();
    }
}
