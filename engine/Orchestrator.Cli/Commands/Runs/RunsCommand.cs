using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Reporting;

namespace Orchestrator.Cli.Commands.Runs;

/// <summary><c>orchestrator runs</c>, <c>runs show &lt;id&gt;</c>, <c>runs prune</c>, <c>runs verify</c>, <c>runs fork</c> and <c>runs diff</c>: what the journal holds.</summary>
internal static class RunsCommand
{
    public static Command Create(CliConsole console)
    {
        var store = CommonOptions.Store();
        var command = new Command("runs", "List past runs.") { store };
        command.SetAction((parse, ct) => ListAsync(console, parse.GetValue(store)!, ct));

        var id = new Argument<string>("id") { Description = "The run's id." };
        var showStore = CommonOptions.Store();
        var step = new Option<string?>("--step") { Description = "Show this one step whole: its input, output and error, however large." };
        var json = new Option<bool>("--json") { Description = "Print the run and every step (no inputs or outputs) as JSON; on a cluster's store each agent step has its node." };
        var show = new Command("show", "Show one run and its steps (a big run's repeated steps by pattern).") { id, step, json, showStore };
        show.SetAction((parse, ct) => parse.GetValue(step) is { } stepId
            ? ShowStepAsync(console, parse.GetValue(showStore)!, parse.GetValue(id)!, stepId, ct)
            : parse.GetValue(json)
                ? ShowJsonAsync(console, parse.GetValue(showStore)!, parse.GetValue(id)!, ct)
                : ShowAsync(console, parse.GetValue(showStore)!, parse.GetValue(id)!, ct));
        command.Subcommands.Add(show);
        command.Subcommands.Add(CreatePrune(console));
        command.Subcommands.Add(RunsVerifyCommand.Create(console));
        command.Subcommands.Add(RunsForkCommand.CreateFork(console));
        command.Subcommands.Add(RunsForkCommand.CreateDiff(console));
        return command;
    }

    private static Command CreatePrune(CliConsole console)
    {
        var olderThan = new Option<string?>("--older-than")
        {
            Description = "Prune runs started longer ago than this: a number and a unit, d, h, m or s (30d, 12h, 90m, 45s).",
        };
        var keep = new Option<int?>("--keep")
        {
            Description = "Keep the N most recently started runs, whatever their age.",
        };
        var store = CommonOptions.Store();
        var prune = new Command(
            "prune",
            "Delete old runs: their journal and their reports. With both options, a run goes only if it is older than --older-than and not among the --keep newest. A run still running is never pruned; an interrupted one is.")
        {
            olderThan, keep, store,
        };
        prune.SetAction((parse, ct) => PruneAsync(console, parse.GetValue(store)!, parse.GetValue(olderThan), parse.GetValue(keep), ct));
        return prune;
    }

    private static async Task<int> ListAsync(CliConsole console, string storeDirectory, CancellationToken ct)
    {
        await using var session = StoreSession.OpenExisting(storeDirectory, console);
        var runs = await session.Journal.ListRunsAsync(ct);
        var rows = runs.Select(r => new[]
        {
            r.Id,
            Status(r, session.Journal.SharedAcrossMachines),
            r.StartedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
            Duration(r.DurationMs),
            Path.GetRelativePath(Environment.CurrentDirectory, r.Script),
        }).ToList();
        TextTable.Write(console, ["ID", "STATUS", "STARTED", "DURATION", "SCRIPT"], rows);
        return ExitCodes.Success;
    }

    /// <summary>
    /// <c>runs show ID --json</c>: the run with its result and every step, with how many times each step completed (the
    /// journal's terminal events) and, on a cluster's store, the node its agent call last ran on.
    /// </summary>
    private static async Task<int> ShowJsonAsync(CliConsole console, string storeDirectory, string id, CancellationToken ct)
    {
        await using var session = StoreSession.OpenExisting(storeDirectory, console);
        var run = await session.Journal.GetRunAsync(id, ct) ?? throw new CliException($"no run with id '{id}' in {session.Directory}");
        var entries = new List<JournalEntry>();
        var completions = new Dictionary<string, int>(StringComparer.Ordinal);
        await foreach (var row in session.Journal.ReadAsync(id, static (_, _, _) => PayloadRead.Skip, ct))
        {
            entries.Add(row.Entry);
            if (row.Entry.Event is StepEvent.Succeeded or StepEvent.Failed or StepEvent.Degraded)
            {
                completions[row.Entry.StepId] = completions.GetValueOrDefault(row.Entry.StepId) + 1;
            }
        }

        var nodes = Core.Journal.Postgres.PostgresConnection.IsPostgres(storeDirectory)
            ? await StepNodesAsync(storeDirectory, id, ct)
            : new Dictionary<string, string>();
        var json = Host.HostJson.Run(run, inFlight: false, session.Journal.SharedAcrossMachines);
        json["result"] = run.Result?.DeepClone();
        json["steps"] = new System.Text.Json.Nodes.JsonArray([.. StepFolding.Fold(entries).Select(s =>
        {
            var step = Host.HostJson.Step(s);
            step.Remove("input");
            step.Remove("output");
            step["completions"] = completions.GetValueOrDefault(s.Id);
            step["node"] = nodes.GetValueOrDefault(s.Id);
            return (System.Text.Json.Nodes.JsonNode)step;
        })]);
        console.Line(json.ToJsonString());
        return ExitCodes.Success;
    }

    /// <summary>Where a cluster ran the run's agent steps; a method of its own so that other stores never load the cluster's code.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static async Task<IReadOnlyDictionary<string, string>> StepNodesAsync(string store, string runId, CancellationToken ct)
    {
        await using var database = Npgsql.NpgsqlDataSource.Create(Core.Journal.Postgres.PostgresConnection.Parse(store).ConnectionString);
        return await Orchestrator.Cluster.Agents.StepNodeLog.ReadAsync(database, runId, ct);
    }

    private static async Task<int> ShowAsync(CliConsole console, string storeDirectory, string id, CancellationToken ct)
    {
        await using var session = StoreSession.OpenExisting(storeDirectory, console);
        var run = await session.Journal.GetRunAsync(id, ct) ?? throw new CliException($"no run with id '{id}' in {session.Directory}");

        // The same digest a report is built from: a big run is read once and shown by pattern, never held whole.
        var digester = new StepDigestBuilder();
        await foreach (var row in session.Journal.ReadAsync(id, static (_, _, _) => PayloadRead.Skip, ct))
        {
            digester.Add(in row);
        }

        var (digest, steps) = digester.Finish();

        console.Line($"run      {run.Id}");
        console.Line($"script   {run.Script} ({run.Language}, sha256 {run.ScriptHash[..Math.Min(12, run.ScriptHash.Length)]})");
        console.Line($"status   {Status(run, session.Journal.SharedAcrossMachines)}");
        console.Line($"started  {run.StartedAt.ToLocalTime():yyyy-MM-dd HH:mm:ss.fff}");
        if (run.Host is not null)
        {
            console.Line($"host     {run.Host} (pid {run.Pid?.ToString(CultureInfo.InvariantCulture) ?? "?"})");
        }

        console.Line($"duration {Duration(run.DurationMs)}");
        if (run.FinalHash is not null)
        {
            console.Line($"journal  final hash {run.FinalHash} (check it with 'orchestrator runs verify {run.Id}')");
        }

        if (run.Error is not null)
        {
            console.Line($"error    {run.Error}");
        }

        if (run.Report is not null)
        {
            console.Line($"report   {run.Report}");
        }

        if (run.ReportError is not null)
        {
            console.Line($"report   not written: {run.ReportError}");
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
        if (digest.StepsOmitted > 0)
        {
            console.Line("");
            console.Line($"{digest.StepsOmitted} more steps, by pattern (show one with --step <id>):");
            TextTable.Write(console, ["PATTERN", "KIND", "STEPS", "SUCCEEDED", "FAILED", "P50", "P95", "MAX"], [.. digest.Groups.Where(g => g.Count > 1).Select(g => new[]
            {
                g.Pattern,
                g.Kind,
                g.Count.ToString(CultureInfo.InvariantCulture),
                g.Statuses.GetValueOrDefault(RunStatus.Succeeded).ToString(CultureInfo.InvariantCulture),
                g.Statuses.GetValueOrDefault(RunStatus.Failed).ToString(CultureInfo.InvariantCulture),
                Duration(g.P50Ms),
                Duration(g.P95Ms),
                Duration(g.MaxMs),
            })]);
            var unlisted = digest.Failures.Where(f => !steps.Any(s => s.Id == f.Id)).ToList();
            if (unlisted.Count > 0)
            {
                console.Line("");
                console.Line(digest.FailuresOmitted > 0 ? $"failed steps (the first {unlisted.Count}; {digest.FailuresOmitted} more):" : "failed steps:");
                TextTable.Write(console, ["STEP", "KIND", "AGENT", "ERROR"], [.. unlisted.Select(f => new[] { f.Id, f.Kind, f.Agent ?? "", f.Error ?? "" })]);
            }
        }

        return ExitCodes.Success;
    }

    /// <summary><c>runs show &lt;id&gt; --step &lt;stepId&gt;</c>: one step whole, read from the journal by a pass that keeps only its events.</summary>
    private static async Task<int> ShowStepAsync(CliConsole console, string storeDirectory, string id, string stepId, CancellationToken ct)
    {
        await using var session = StoreSession.Open(storeDirectory, verbose: false, console);
        _ = await session.Journal.GetRunAsync(id, ct) ?? throw new CliException($"no run with id '{id}' in {session.Directory}");
        var events = new List<JournalEntry>();
        await foreach (var row in session.Journal.ReadAsync(id, (s, _, _) => s == stepId ? PayloadRead.Full : PayloadRead.Skip, ct))
        {
            if (row.Entry.StepId == stepId)
            {
                events.Add(row.Entry);
            }
        }

        var step = StepFolding.Fold(events).SingleOrDefault() ?? throw new CliException($"run {id} has no step '{stepId}'");
        var indented = new System.Text.Json.JsonSerializerOptions { WriteIndented = true };
        console.Line($"step     {step.Id}");
        console.Line($"kind     {step.Kind}{(step.Agent is null ? "" : $" (agent {step.Agent})")}");
        console.Line($"status   {Status(step.Status)} (attempt {step.Attempt})");
        console.Line($"started  {step.StartedAt.ToLocalTime():yyyy-MM-dd HH:mm:ss.fff}");
        console.Line($"duration {Duration(step.DurationMs)}");
        if (step.Error is not null)
        {
            console.Line($"error    {step.Error}");
        }

        console.Line("input");
        console.Line(step.Input?.ToJsonString(indented) ?? "null");
        console.Line("output");
        console.Line(step.Output?.ToJsonString(indented) ?? "null");
        return ExitCodes.Success;
    }

    private static async Task<int> PruneAsync(CliConsole console, string storeDirectory, string? olderThan, int? keep, CancellationToken ct)
    {
        if (olderThan is null && keep is null)
        {
            throw new CliException("runs prune needs --older-than, --keep or both (e.g. --older-than 30d --keep 10).");
        }

        if (keep is < 0)
        {
            throw new CliException($"--keep must be 0 or more, not {keep}.");
        }

        DateTimeOffset? cutoff = null;
        if (olderThan is not null)
        {
            if (!RunAge.TryParse(olderThan, out var age))
            {
                throw new CliException($"--older-than '{olderThan}' is not an age: use a whole number and a unit, d, h, m or s (30d, 12h, 90m, 45s).");
            }

            var now = TimeProvider.System.GetUtcNow();
            if (age > now - DateTimeOffset.MinValue)
            {
                throw new CliException($"--older-than '{olderThan}' reaches back before the year 1.");
            }

            cutoff = now - age;
        }

        await using var session = StoreSession.OpenExisting(storeDirectory, console);
        var pruned = await session.Journal.PruneAsync(cutoff, keep, ct);
        var reports = Path.Combine(session.Directory, "reports");
        var failures = new List<string>();
        foreach (var id in pruned)
        {
            console.Line(id);
            DeleteReports(reports, id, failures);
        }

        session.Log.Information("Pruned {Count} runs (older than {OlderThan}, keep {Keep}): {Runs}", pruned.Count, olderThan, keep, pruned);
        console.Line($"pruned {pruned.Count} {(pruned.Count == 1 ? "run" : "runs")}");
        foreach (var failure in failures)
        {
            console.Error(failure);
        }

        return failures.Count == 0 ? ExitCodes.Success : ExitCodes.Failed;
    }

    /// <summary>Removes <c>reports/&lt;id&gt;.json|.md|.html</c>; an id that is not a plain file name touches nothing.</summary>
    private static void DeleteReports(string reportsDirectory, string runId, List<string> failures)
    {
        if (runId.Length == 0 || Path.GetFileName(runId) != runId || runId is "." or "..")
        {
            return;
        }

        foreach (var extension in (string[])[".json", ".md", ".html"])
        {
            var path = Path.Combine(reportsDirectory, runId + extension);
            try
            {
                if (File.Exists(path))
                {
                    File.Delete(path);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                failures.Add($"pruned run {runId} but could not delete its report {path}: {ex.Message}");
            }
        }
    }

    /// <summary>A run's status as the verbs print it: a running run whose process is gone is interrupted.</summary>
    /// <param name="sharedStore">The store is shared by machines: another machine's running run is never taken for interrupted.</param>
    internal static string Status(RunRecord run, bool sharedStore) =>
        RunLiveness.IsInterrupted(run, sharedStore) ? "interrupted" : Status(run.Status);

    private static string Status(RunStatus status) => status.ToString().ToLowerInvariant();

    private static string Duration(double? ms) => ms is { } value ? value.ToString("0", CultureInfo.InvariantCulture) + " ms" : "-";
}

/// <summary>An age on the command line: a whole number and a unit, <c>d</c>, <c>h</c>, <c>m</c> or <c>s</c>.</summary>
internal static class RunAge
{
    public static bool TryParse(string text, out TimeSpan age)
    {
        age = default;
        text = text.Trim();
        if (text.Length < 2
            || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }

        var unit = char.ToLowerInvariant(text[^1]) switch
        {
            'd' => TimeSpan.TicksPerDay,
            'h' => TimeSpan.TicksPerHour,
            'm' => TimeSpan.TicksPerMinute,
            's' => TimeSpan.TicksPerSecond,
            _ => 0L,
        };
        if (unit == 0 || amount > TimeSpan.MaxValue.Ticks / unit)
        {
            return false;
        }

        age = TimeSpan.FromTicks(amount * unit);
        return true;
    }
}
