using System.CommandLine;
using System.Runtime.InteropServices;
using Orchestrator.Cli.Commands.Run;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Mcp;
using Orchestrator.Core.Plugins;
using Orchestrator.Core.Reporting;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.JavaScript;
using Orchestrator.Scripting.Repl;

namespace Orchestrator.Cli.Commands.Repl;

/// <summary><c>orchestrator repl [--js]</c>: an interactive session with the workflow DSL, journaled as a run of its own.</summary>
internal static class ReplCommand
{
    public const string Name = "repl";

    public static Command Create(CliConsole console)
    {
        var javaScript = new Option<bool>("--js") { Description = "JavaScript (Jint) instead of C#." };
        var store = CommonOptions.Store();
        var plugins = CommonOptions.Plugins();
        var verbose = CommonOptions.Verbose();
        var command = new Command(Name, "Start an interactive C# (or --js JavaScript) session with the workflow DSL, the plugins and a run of its own.")
        {
            javaScript, store, plugins, verbose,
        };
        command.SetAction((parse, ct) => RunAsync(
            console, parse.GetValue(javaScript), parse.GetValue(store)!, parse.GetValue(plugins) ?? [], parse.GetValue(verbose), ct));
        return command;
    }

    /// <summary>The REPL handles Ctrl+C itself (it cancels the running submission), so the command line must not end the process on it.</summary>
    public static bool HandlesInterrupts(ParseResult parsed) => parsed.CommandResult.Command.Name == Name;

    private static async Task<int> RunAsync(CliConsole console, bool javaScript, string store, string[] pluginDirectories, bool verbose, CancellationToken cancellationToken)
    {
        await using var session = StoreSession.Open(store, verbose, console);
        using var plugins = PluginHost.Load([PluginHost.DefaultDirectory, .. pluginDirectories], session.Log);
        foreach (var error in plugins.Errors)
        {
            console.Error($"plugin not loaded: {error.Path}: {error.Message}");
        }

        WorkflowHost.UseProfiles(plugins, Directory.GetCurrentDirectory(), session.Directory);

        var history = new ReplHistory(Path.Combine(session.Directory, "repl-history"));
        // At a terminal: line editing, the input highlighted where colour is allowed, and the live step view of a running submission.
        var terminal = !Console.IsInputRedirected && !Console.IsOutputRedirected;
        ILineReader input = Console.IsInputRedirected
            ? new TextLineReader(Console.In)
            : new TerminalLineReader(history, console.Out) { Colours = SyntaxHighlighting.Allowed(Environment.GetEnvironmentVariable, Console.IsOutputRedirected) };
        var steps = terminal ? new ReplStepView(console.Out, TimeProvider.System) : null;
        var repl = new ReplSession(input, console.Out, history) { Steps = steps };
        var program = new ReplProgram(repl, javaScript, Directory.GetCurrentDirectory(), new JavaScriptOptions(), session.Log)
        {
            PackagesFolder = Scripting.CompileCache.ScriptCompileCache.PackagesFolderIn(Path.Combine(session.Directory, WorkflowHost.CacheFolder)),
        };

        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            repl.Interrupt();
        });

        // SIGTERM still ends the session, with its run journaled as cancelled rather than left unfinished.
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            ended.Cancel();
        });
        // The same connectors and MCP servers a script in the current folder would see.
        var here = Directory.GetCurrentDirectory();
        await using var connectors = ConnectorFiles.Load(ConnectorFiles.None, Path.Combine(here, Name), session.Directory, session.Secrets);
        var mcp = WorkflowHost.LoadMcpConfiguration(here, store, mcpConfig: null);
        await using var servers = mcp.Servers.Count == 0 ? null : new McpCoordinator(mcp, TimeProvider.System, session.Log);
        var engine = new WorkflowEngine(session.Journal, plugins, new ReportWriter(session.Directory, secrets: session.Secrets), TimeProvider.System, session.Log)
        {
            Connectors = connectors,
            Mcp = servers,
        };
        var outcome = await engine.RunAsync(program, input: null, ended.Token, new RunOptions { OnEvent = steps is null ? null : steps.Observe });
        // A session cannot be replayed (its input was the terminal), so no "resume with" hint.
        return RunOutput.Report(console, outcome, json: false, resumable: false);
    }
}
