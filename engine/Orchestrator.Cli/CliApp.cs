using System.CommandLine;
using System.CommandLine.Parsing;
using Orchestrator.Cli.Commands.Connectors;
using Orchestrator.Cli.Commands.Mcp;
using Orchestrator.Cli.Commands.New;
using Orchestrator.Cli.Commands.Plugins;
using Orchestrator.Cli.Commands.Repl;
using Orchestrator.Cli.Commands.Report;
using Orchestrator.Cli.Commands.Review;
using Orchestrator.Cli.Commands.Run;
using Orchestrator.Cli.Commands.Runs;
using Orchestrator.Cli.Commands.Serve;
using Orchestrator.Cli.Commands.Stats;
using Orchestrator.Cli.Commands.Store;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Journal;

namespace Orchestrator.Cli;

/// <summary>The <c>orchestrator</c> command line: verbs, parsing, exit codes.</summary>
internal static class CliApp
{
    /// <summary>Every command, with the examples its help ends with.</summary>
    internal static RootCommand BuildCommands(CliConsole console)
    {
        var root = new RootCommand("OrchestratorEngine: run workflows written as C# scripts or JavaScript over agent plugins.")
        {
            RunCommand.Create(console),
            ResumeCommand.Create(console),
            PluginsCommand.Create(console),
            RunsCommand.Create(console),
            ReportCommand.Create(console),
            StatsCommand.Create(console),
            Commands.Status.StatusCommand.Create(console),
            StoreCommand.Create(console),
            ReviewCommand.Create(console),
            Commands.Waits.ApproveCommand.Create(console),
            Commands.Waits.SignalCommand.Create(console),
            Commands.Schedule.ScheduleCommand.Create(console),
            ConnectorsCommand.Create(console),
            McpCommand.Create(console),
            ServeCommand.Create(console),
            ReplCommand.Create(console),
            NewCommand.Create(console),
            Commands.Init.InitCommand.Create(console),
        };

        CommandExamples.AddTo(root);
        return root;
    }

    /// <summary>Runs the command line; writes only to the given writers so tests can drive it in-process.</summary>
    /// <param name="ownsProcess">The process exits after this command, so what it loads need never be unloaded (see <see cref="CliConsole.OwnsProcess"/>).</param>
    public static async Task<int> InvokeAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken, bool ownsProcess = false)
    {
        var console = new CliConsole(stdout, stderr) { OwnsProcess = ownsProcess };
        var root = BuildCommands(console);
        var logFormat = new Option<string>("--log-format")
        {
            Description = "The log's format, in the store's logs/ and with -v on the console: text, or json (compact JSON, one event a line, for log shippers).",
            Recursive = true,
            DefaultValueFactory = _ => "text",
        };
        logFormat.AcceptOnlyFromAmong("text", "json");
        root.Options.Add(logFormat);

        // No response files: "@file" is ours (--input @file), and a token that names a folder must not crash the parser.
        var parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Errors.Count > 0)
        {
            console.Error(UsageError(root, parsed));
            return ExitCodes.BadInput;
        }

        console.JsonLogs = parsed.GetValue(logFormat) == "json";
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false,

                // Ctrl+C cancels the run; the engine then needs a moment to journal the cancellation and the report.
                ProcessTerminationTimeout = ReplCommand.HandlesInterrupts(parsed) ? null : TimeSpan.FromSeconds(15),
            }, cancellationToken);
        }
        catch (CliException ex)
        {
            console.Error(ex.Message);
            return ex.ExitCode;
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C reached a command between the points that journal a cancellation: said, never a stack trace.
            console.Error("cancelled");
            return ExitCodes.Failed;
        }
        catch (StoreDamagedException ex)
        {
            console.Error(ex.Message);
            return ExitCodes.BadInput;
        }
        catch (JournalRowException ex)
        {
            // A row changed outside the engine: said in one line, naming the run and the row, never a stack trace.
            console.Error($"store '{StoreOf(parsed)}': {ex.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception ex) when (StoreIntegrity.FindDamage(ex) is { } damage)
        {
            // Damage met after the store was opened (a page no check had read): the same one line, never a stack trace.
            console.Error(StoreDamagedException.From(StoreOf(parsed), damage).Message);
            return ExitCodes.BadInput;
        }
    }

    /// <summary>
    /// The parser's errors as one line, with where to read more; a mistyped command gets the closest one
    /// (<c>unknown command 'rnu'; did you mean 'run'?</c>). Written here rather than by System.CommandLine's error
    /// action, whose suggestions and help take many lines: bad input is one line.
    /// </summary>
    private static string UsageError(RootCommand root, ParseResult parsed)
    {
        var command = parsed.CommandResult.Command;
        var help = command == root ? "orchestrator --help" : $"orchestrator {string.Join(' ', CommandPath(parsed.CommandResult))} --help";
        if (command.Subcommands.Count > 0 && parsed.UnmatchedTokens.Count > 0)
        {
            var typed = parsed.UnmatchedTokens[0];
            var closest = command.Subcommands.Select(c => c.Name).MinBy(name => Distance(typed, name));
            var guess = closest is not null && Distance(typed, closest) <= 2 ? $"; did you mean '{closest}'?" : "";
            return $"unknown command '{typed}'{guess} ({help} lists the commands)";
        }

        var errors = parsed.Errors.Select(e => string.Join(' ', e.Message.Split((char[])['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
        return $"{string.Join("; ", errors.Distinct())} (see {help})";
    }

    private static IEnumerable<string> CommandPath(SymbolResult? result) =>
        result is CommandResult { Parent: { } parent } command ? [.. CommandPath(parent), command.Command.Name] : [];

    /// <summary>Edit distance (insertions, deletions, substitutions, adjacent swaps): how far a typo is from a command.</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }

    /// <summary>The store folder the parsed verb works on: its <c>--store</c>, or the default.</summary>
    private static string StoreOf(ParseResult parsed) =>
        StoreLocation.Describe(parsed.CommandResult.Command.Options.OfType<Option<string>>().FirstOrDefault(o => o.Name == "--store") is { } store
            ? parsed.GetValue(store) ?? CommonOptions.DefaultStore
            : CommonOptions.DefaultStore);
}

/// <summary>The exit codes every verb uses.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failed = 1;
    public const int BadInput = 2;

    /// <summary>The run parked on an approval, an event or a long sleep: it ended as waiting, to be resumed.</summary>
    public const int Waiting = 3;
}

/// <summary>A failure with a one-line message for the user and the exit code it maps to.</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.BadInput) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>Where the verbs print: results to stdout, diagnostics to stderr prefixed with the tool's name.</summary>
internal sealed class CliConsole(TextWriter stdout, TextWriter stderr)
{
    public TextWriter Out { get; } = stdout;

    /// <summary>Standard error as it is, for text that already carries its prefix (what a host rendered).</summary>
    public TextWriter ErrorWriter { get; } = stderr;

    /// <summary>The log is compact JSON (<c>--log-format json</c>).</summary>
    public bool JsonLogs { get; set; }

    /// <summary>The process runs this one command and exits (the real <c>orchestrator</c>, not a test driving it in-process).</summary>
    public bool OwnsProcess { get; init; }

    public void Line(string text) => Out.WriteLine(text);

    public void Error(string message) => ErrorWriter.WriteLine("orchestrator: " + message);

    /// <summary>A name as typed, with control characters escaped, so that a message naming it stays one line.</summary>
    public static string Printable(string text) =>
        text.Any(char.IsControl) ? string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString())) : text;
}
