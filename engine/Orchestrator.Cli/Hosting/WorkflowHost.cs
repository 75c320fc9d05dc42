using Orchestrator.Core.Connectors;
using Orchestrator.Core.Plugins;
using Orchestrator.Core.Reporting;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting;
using Orchestrator.Scripting.JavaScript;

namespace Orchestrator.Cli.Hosting;

/// <summary>What <c>run</c> and <c>resume</c> share: the store, the plugins, the compiled script and the engine.</summary>
internal sealed class WorkflowHost : IAsyncDisposable
{
    private WorkflowHost(StoreSession session, PluginHost plugins, IWorkflowProgram program, ConnectorSet connectors)
    {
        Session = session;
        Plugins = plugins;
        Program = program;
        Connectors = connectors;
        Engine = new WorkflowEngine(session.Journal, plugins, new ReportWriter(session.Directory, secrets: session.Secrets), TimeProvider.System, session.Log)
        {
            Connectors = connectors,
        };
    }

    public StoreSession Session { get; }

    public PluginHost Plugins { get; }

    public IWorkflowProgram Program { get; }

    public WorkflowEngine Engine { get; }

    public ConnectorSet Connectors { get; }

    /// <summary>Opens the store, loads the plugins (reporting the ones that fail), reads the connectors and compiles the script.</summary>
    public static WorkflowHost Open(CliConsole console, string scriptPath, string store, IEnumerable<string> pluginDirectories, bool verbose, CancellationToken cancellationToken, ConnectorFiles? connectorFiles = null, bool watchPlugins = false)
    {
        if (!File.Exists(scriptPath))
        {
            throw new CliException($"script not found: {scriptPath}");
        }

        var session = StoreSession.Open(store, verbose, console);
        PluginHost? plugins = null;
        ConnectorSet? connectors = null;
        try
        {
            connectors = ConnectorFiles.Load(connectorFiles ?? ConnectorFiles.None, scriptPath, session.Directory, session.Secrets);
            plugins = PluginHost.Load([PluginHost.DefaultDirectory, .. pluginDirectories], session.Log, watchPlugins);
            foreach (var error in plugins.Errors)
            {
                console.Error($"plugin not loaded: {error.Path}: {error.Message}");
            }

            var program = WorkflowScripts.Compile(scriptPath, new JavaScriptOptions(), session.Log, cancellationToken);
            return new WorkflowHost(session, plugins, program, connectors);
        }
        catch (Exception ex)
        {
            connectors?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            plugins?.Dispose();
            session.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw ex is ScriptCompilationException ? new CliException(ex.Message) : ex;
        }
    }

    public async ValueTask DisposeAsync()
    {
        (Program as IDisposable)?.Dispose();
        Plugins.Dispose();
        await Connectors.DisposeAsync();
        await Session.DisposeAsync();
    }
}
