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

    /// <summary>Opens the store; a journal of an unknown format or an unreadable file is bad input, never misread.</summary>
    public static StoreSession Open(string storeDirectory, bool verbose)
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

        return new StoreSession(directory, journal, config.CreateLogger());
    }

    public async ValueTask DisposeAsync()
    {
        await Journal.DisposeAsync();
        await Log.DisposeAsync();
    }
}
