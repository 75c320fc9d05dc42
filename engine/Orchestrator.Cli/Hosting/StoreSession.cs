using Microsoft.Data.Sqlite;
using Npgsql;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Journal.Postgres;
using Orchestrator.Core.Secrets;
using Serilog;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Orchestrator.Cli.Hosting;

/// <summary>
/// An open store: its journal (SQLite in the store folder, or a PostgreSQL database) and the log that goes with it.
/// A PostgreSQL store keeps its files (reports, logs, compile cache) in a local folder, <see cref="StoreLocation.Folder"/>.
/// </summary>
internal sealed class StoreSession : IAsyncDisposable
{
    private readonly Task<IStoreJournal> _opening;
    private readonly bool _verbose;
    private IStoreJournal? _journal;

    private StoreSession(string directory, Task<IStoreJournal> opening, Logger log, SecretRegistry secrets, bool verbose)
    {
        Secrets = secrets;
        Directory = directory;
        _opening = opening;
        _verbose = verbose;
        Log = log;
    }

    /// <summary>The store folder, or a PostgreSQL store's local folder.</summary>
    public string Directory { get; }

    public IStoreJournal Journal => _journal ?? throw new InvalidOperationException("The store is still opening: call WaitUntilOpen first.");

    public Logger Log { get; }

    /// <summary>The secrets handed out in this session (connector credentials): the journal, the log and the reports redact them.</summary>
    public SecretRegistry Secrets { get; }

    /// <summary>
    /// Opens the store; a journal of an unknown format or an unreadable file is bad input, never misread.
    /// A journal of an older format is migrated, which is logged and, given a <paramref name="console"/>, said on stderr.
    /// </summary>
    public static StoreSession Open(string storeDirectory, bool verbose, CliConsole? console = null) =>
        Begin(storeDirectory, verbose, console?.JsonLogs ?? false).WaitOrDispose(console);

    /// <summary>
    /// Opens a store that must already be there: the verbs that only read never create one, so a missing folder or
    /// journal is bad input.
    /// </summary>
    public static StoreSession OpenExisting(string storeDirectory, CliConsole? console = null) =>
        PostgresConnection.IsPostgres(storeDirectory)
            ? Begin(storeDirectory, verbose: false, createPostgres: false).WaitOrDispose(console)
            : Open(RequireExisting(storeDirectory), verbose: false, console);

    /// <summary>The store folder's full path, if it holds a journal; otherwise one line for the user.</summary>
    public static string RequireExisting(string storeDirectory)
    {
        if (PostgresConnection.IsPostgres(storeDirectory))
        {
            throw new CliException($"store '{StoreLocation.Describe(storeDirectory)}' is a PostgreSQL database: this command reads a store folder's SQLite file (PostgreSQL checks and backs up its own data: amcheck, pg_dump)");
        }

        var directory = Path.GetFullPath(storeDirectory);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new CliException($"no store at '{directory}': the folder does not exist");
        }

        if (!File.Exists(Path.Combine(directory, StoreIntegrity.JournalFileName)))
        {
            throw new CliException($"no store at '{directory}': the folder has no {StoreIntegrity.JournalFileName}");
        }

        return directory;
    }

    /// <summary>
    /// Starts opening the store: the log now, the journal (SQLite's first use, a schema check, perhaps a migration)
    /// on another thread, so that a caller can read its configuration and load plugins meanwhile; then <see cref="WaitUntilOpen"/>.
    /// </summary>
    /// <param name="jsonLogs">Write the log file and the console log as compact JSON (<c>--log-format json</c>), for log shippers.</param>
    /// <param name="createPostgres">Whether a PostgreSQL database without a store gets one (the verbs that only read say there is none).</param>
    public static StoreSession Begin(string storeDirectory, bool verbose, bool jsonLogs = false, bool createPostgres = true)
    {
        var directory = StoreLocation.Folder(storeDirectory);
        var secrets = new SecretRegistry();
        var opening = Task.Run(() => StoreJournals.Open(storeDirectory, secrets, createPostgres));

        // Every sink sits behind the redacting wrapper, so no secret reaches a log file or the console.
        var config = new LoggerConfiguration()
            .MinimumLevel.Debug()
            .Enrich.FromLogContext();
        var redacting = LoggerSinkConfiguration.Wrap(
            sink => new RedactingSink(sink, secrets),
            sinks =>
            {
                var file = Path.Combine(directory, "logs", jsonLogs ? "orchestrator-.json" : "orchestrator-.log");
                if (jsonLogs)
                {
                    sinks.File(new CompactJsonFormatter(), file, LogEventLevel.Information, rollingInterval: RollingInterval.Day, retainedFileCountLimit: 14, shared: true);
                }
                else
                {
                    sinks.File(file, LogEventLevel.Information, rollingInterval: RollingInterval.Day, retainedFileCountLimit: 14, shared: true);
                }

                if (verbose && jsonLogs)
                {
                    sinks.Console(new CompactJsonFormatter(), standardErrorFromLevel: LogEventLevel.Verbose);
                }
                else if (verbose)
                {
                    sinks.Console(standardErrorFromLevel: LogEventLevel.Verbose);
                }
            });
        config = config.WriteTo.Sink(redacting);

        var log = config.CreateLogger();

        // Also off the caller's thread: the log file's first write opens it and applies its retention.
        _ = opening.ContinueWith(
            _ => log.Information("Store {Store} opened by process {ProcessId} (journal format {Format})", opening.Result.Location, Environment.ProcessId, SqliteJournal.FormatVersion),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion,
            TaskScheduler.Default);
        return new StoreSession(directory, opening, log, secrets, verbose);
    }

    /// <summary>
    /// Waits for the journal <see cref="Begin"/> started; a journal of an unknown format or an unreadable file is bad
    /// input, never misread. A journal of an older format is migrated, which is logged and, given a
    /// <paramref name="console"/>, said on stderr.
    /// </summary>
    private StoreSession WaitOrDispose(CliConsole? console)
    {
        try
        {
            return WaitUntilOpen(console);
        }
        catch
        {
            DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    public StoreSession WaitUntilOpen(CliConsole? console)
    {
        try
        {
            _journal = _opening.GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is StoreDamagedException or StoreUnavailableException)
        {
            throw new CliException(ex.Message);
        }
        catch (Exception ex) when (StoreIntegrity.FindDamage(ex) is { } damage)
        {
            throw new CliException(StoreDamagedException.From(Directory, damage).Message);
        }
        catch (Exception ex) when (IsStoreError(ex))
        {
            throw new CliException($"cannot open the store '{Directory}': {ex.Message}");
        }

        if (MigrationNotice is { } notice)
        {
            // Verbose sessions already log to stderr; otherwise the console (if any) says it once.
            Log.Information("Store {Store}: {Notice}", Directory, notice);
            if (!_verbose)
            {
                console?.Error(notice);
            }
        }

        return this;
    }

    /// <summary>The message a migration on open is reported with, for verbs that print it themselves.</summary>
    public string? MigrationNotice => Journal.MigratedFromVersion is { } from
        ? $"migrated the journal from format {from} to {SqliteJournal.FormatVersion} ({Journal.Location})"
        : null;

    /// <summary>Closes the journal, also one still opening when its caller gave up, and the log.</summary>
    public async ValueTask DisposeAsync()
    {
        if ((_journal ?? await OpenedOrNullAsync()) is { } journal)
        {
            await journal.DisposeAsync();
        }

        await Log.DisposeAsync();
    }

    private async Task<IStoreJournal?> OpenedOrNullAsync()
    {
        try
        {
            return await _opening;
        }
        catch (Exception ex) when (IsStoreError(ex))
        {
            // Nothing was opened, so nothing to close; WaitUntilOpen says why to a caller that waits.
            return null;
        }
    }

    /// <summary>A journal of an unknown format or damaged, or a store folder or file that cannot be read or written.</summary>
    private static bool IsStoreError(Exception ex) =>
        ex is JournalFormatException or StoreDamagedException or SqliteException or IOException or UnauthorizedAccessException
            or StoreUnavailableException or NpgsqlException;
}
