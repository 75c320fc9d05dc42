namespace Orchestrator.Core.Journal;

/// <summary>A journal kept in a store the CLI opens: SQLite in a store folder, or a PostgreSQL database.</summary>
internal interface IStoreJournal : IJournal
{
    /// <summary>Where the journal is, for messages: the file's path, or the database with its password masked.</summary>
    string Location { get; }

    /// <summary>The format the store was migrated from when it was opened, or null if it needed no migration.</summary>
    int? MigratedFromVersion { get; }

    /// <summary>The runs of <paramref name="script"/> that are recorded as running or cancelled, oldest first: what a new run of it points at.</summary>
    ValueTask<IReadOnlyList<RunRecord>> ListOpenRunsAsync(string script, CancellationToken cancellationToken);

    /// <summary>A reader that checks runs against their hash chains (<c>runs verify</c>, and <c>resume</c> before it replays).</summary>
    JournalVerifier OpenVerifier();
}
