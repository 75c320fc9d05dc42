using System.CommandLine;
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
    /// <summary>Runs the command line; writes only to the given writers so tests can drive it in-process.</summary>
    /// <param name="ownsProcess">The process exits after this command, so what it loads need never be unloaded (see <see cref="CliConsole.OwnsProcess"/>).</param>
    public static async Task<int> InvokeAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken, bool ownsProcess = false)
    {
        var console = new CliConsole(stdout, stderr) { OwnsProcess = ownsProcess };
        var root = new RootCommand("OrchestratorEngine: run workflows written as C# scripts or JavaScript over agent plugins.")
        {
            RunCommand.Create(console),
            ResumeCommand.Create(console),
            PluginsCommand.Create(console),
            RunsCommand.Create(console),
            ReportCommand.Create(console),
            StatsCommand.Create(console),
            StoreCommand.Create(console),
            ReviewCommand.Create(console),
            ConnectorsCommand.Create(console),
            McpCommand.Create(console),
            ServeCommand.Create(console),
            ReplCommand.Create(console),
            NewCommand.Create(console),
        };

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                console.Error(error.Message);
            }

            console.Error("Run 'orchestrator --help' for usage.");
            return ExitCodes.BadInput;
        }

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

    /// <summary>The store folder the parsed verb works on: its <c>--store</c>, or the default.</summary>
    private static string StoreOf(ParseResult parsed) =>
        Path.GetFullPath(parsed.CommandResult.Command.Options.OfType<Option<string>>().FirstOrDefault(o => o.Name == "--store") is { } store
            ? parsed.GetValue(store) ?? CommonOptions.DefaultStore
            : CommonOptions.DefaultStore);
}

/// <summary>The exit codes every verb uses.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failed = 1;
    public const int BadInput = 2;
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

    /// <summary>The process runs this one command and exits (the real <c>orchestrator</c>, not a test driving it in-process).</summary>
    public bool OwnsProcess { get; init; }

    public void Line(string text) => Out.WriteLine(text);

    public void Error(string message) => stderr.WriteLine("orchestrator: " + message);
}
