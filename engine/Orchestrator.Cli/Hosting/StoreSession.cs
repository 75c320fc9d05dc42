using Microsoft.Data.Sqlite;
using Orchestrator.Core.Journal;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Orchestrator.Cli.Hosting;

/// <summary>An open store folder: its journal and the log that goes with it.</summary>
internal sealed class StoreSession : IAsyncDisposable
{
    private StoreSession(string directory, SqliteJournal journal, Logger log)
    {
        Directory = directory;
        Journal = journal;
        Log = log;
    }

    public string Directory { get; }

    public SqliteJournal Journal { get; }

    public Logger Log { get; }

    /// <summary>
    /// Opens the store; a journal of an unknown format or an unreadable file is bad input, never misread.
    /// A journal of an older format is migrated, which is logged and, given a <paramref name="console"/>, said on stderr.
    /// </summary>
    public static StoreSession Open(string storeDirectory, bool verbose, CliConsole? console = null)
    {
        var directory = Path.GetFullPath(storeDirectory);
        SqliteJournal journal;
        try
        {
            journal = SqliteJournal.Open(directory);
        }
        catch (Exception ex) when (ex is JournalFormatException or SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot open the store '{directory}': {ex.Message}");
        }

        var config = new LoggerConfiguration()
            .MinimumLevel.Debug()
            .Enrich.FromLogContext()
            .WriteTo.File(
                Path.Combine(directory, "logs", "orchestrator-.log"),
                restrictedToMinimumLevel: LogEventLevel.Information,
                rollingInterval: RollingInterval.Day,
                retainedFileCountLimit: 14,
                shared: true);
        if (verbose)
        {
            config = config.WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose);
        }

        var session = new StoreSession(directory, journal, config.CreateLogger());
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
