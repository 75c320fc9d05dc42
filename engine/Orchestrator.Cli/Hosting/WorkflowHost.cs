using Orchestrator.Core.Plugins;
using Orchestrator.Core.Reporting;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting;
using Orchestrator.Scripting.CompileCache;
using Orchestrator.Scripting.JavaScript;

namespace Orchestrator.Cli.Hosting;

/// <summary>What <c>run</c> and <c>resume</c> share: the store, the plugins, the compiled script and the engine.</summary>
internal sealed class WorkflowHost : IAsyncDisposable
{
    private WorkflowHost(StoreSession session, PluginHost plugins, IWorkflowProgram program)
    {
        Session = session;
        Plugins = plugins;
        Program = program;
        Engine = new WorkflowEngine(session.Journal, plugins, new ReportWriter(session.Directory), TimeProvider.System, session.Log);
    }

    /// <summary>The compile cache's folder inside the store.</summary>
    public const string CacheFolder = "cache";

    public StoreSession Session { get; }

    public PluginHost Plugins { get; }

    public IWorkflowProgram Program { get; }

    public WorkflowEngine Engine { get; }

    /// <summary>
    /// Opens the store, loads the plugins (reporting the ones that fail) and compiles the script, a .csx through
    /// the store's compile cache (<c>cache/</c>) unless <paramref name="useCache"/> is false (<c>--no-cache</c>).
    /// </summary>
    public static WorkflowHost Open(CliConsole console, string scriptPath, string store, IEnumerable<string> pluginDirectories, bool verbose, bool useCache, CancellationToken cancellationToken)
    {
        if (!File.Exists(scriptPath))
        {
            throw new CliException($"script not found: {scriptPath}");
        }

        var session = StoreSession.Open(store, verbose, console);
        PluginHost? plugins = null;
        try
        {
            plugins = PluginHost.Load([PluginHost.DefaultDirectory, .. pluginDirectories], session.Log);
            foreach (var error in plugins.Errors)
            {
                console.Error($"plugin not loaded: {error.Path}: {error.Message}");
            }

            var cache = useCache ? new ScriptCompileCache(Path.Combine(session.Directory, CacheFolder), session.Log) : null;
            var program = WorkflowScripts.Compile(scriptPath, new JavaScriptOptions(), session.Log, cache, cancellationToken);
            return new WorkflowHost(session, plugins, program);
        }
        catch (Exception ex)
        {
            plugins?.Dispose();
            session.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw ex is ScriptCompilationException ? new CliException(ex.Message) : ex;
        }
    }

    public async ValueTask DisposeAsync()
    {
        (Program as IDisposable)?.Dispose();
        Plugins.Dispose();
        await Session.DisposeAsync();
    }
}
