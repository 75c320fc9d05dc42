using Orchestrator.Core.Connectors;
using Orchestrator.Core.Health;
using Orchestrator.Core.Mcp;
using Orchestrator.Core.Plugins;
using Orchestrator.Core.Provisioning;
using Orchestrator.Core.Reporting;
using Orchestrator.Core.Telemetry;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting;
using Orchestrator.Scripting.CompileCache;
using Orchestrator.Scripting.JavaScript;

namespace Orchestrator.Cli.Hosting;

/// <summary>What <c>run</c> and <c>resume</c> share: the store, the plugins, the compiled script and the engine.</summary>
internal sealed class WorkflowHost : IAsyncDisposable
{
    private WorkflowHost(StoreSession session, PluginHost plugins, IWorkflowProgram program, ConnectorSet connectors, McpConfiguration mcp, StartupWarmUp? warmUp)
    {
        Session = session;
        Plugins = plugins;
        Program = program;
        Connectors = connectors;

        // Servers start on the first tool call, so a script that calls none never starts them.
        Mcp = mcp.Servers.Count == 0 ? null : new McpCoordinator(mcp, TimeProvider.System, session.Log);
        var reports = new ReportWriter(session.Directory, secrets: session.Secrets);
        var health = new AgentHealthBook(TimeProvider.System);
        Circuits = new CircuitWatch(health);
        Engine = new WorkflowEngine(session.Journal, plugins, reports, TimeProvider.System, session.Log, health)
        {
            Connectors = connectors,
            Mcp = Mcp,
        };

        // After what Open queued, each before the run needs it: the plugin loader's first context, the one report.
        if (warmUp is not null)
        {
            warmUp.Then(plugins.PrepareFirstDeferred);
            warmUp.Then(reports.Prepare);
            warmUp.Finish();
        }
    }

    /// <summary>The compile cache's folder inside the store.</summary>
    public const string CacheFolder = "cache";

    /// <summary>What the plugins provided when they last loaded, in <see cref="CacheFolder"/>: plugins load when first used.</summary>
    public const string PluginManifestFile = "plugins.txt";

    public StoreSession Session { get; }

    public PluginHost Plugins { get; }

    public IWorkflowProgram Program { get; }

    public WorkflowEngine Engine { get; }

    public ConnectorSet Connectors { get; }

    public McpCoordinator? Mcp { get; }

    /// <summary>The engine's agent circuits, as telemetry counts their changes.</summary>
    public CircuitWatch Circuits { get; }

    /// <summary>
    /// Reads the MCP configuration, opens the store, loads the plugins (reporting the ones that fail), reads the
    /// connectors and compiles the script, a .csx through the store's compile cache (<c>cache/</c>) unless
    /// <paramref name="useCache"/> is false (<c>--no-cache</c>), which also loads every plugin now rather than from the manifest.
    /// </summary>
    /// <param name="oneRunProcess">The process ends with this run (<c>run</c>, <c>resume</c>): plugins need not be unloadable, so their ReadyToRun code is used, and what the run needs first is warmed up on a spare core.</param>
    public static WorkflowHost Open(CliConsole console, string scriptPath, string store, IEnumerable<string> pluginDirectories, string? mcpConfig, bool verbose, bool useCache, CancellationToken cancellationToken, ConnectorFiles? connectorFiles = null, bool watchPlugins = false, bool oneRunProcess = false)
    {
        if (Directory.Exists(scriptPath))
        {
            throw new CliException($"{scriptPath}: a folder, not a script: give a .csx or .js file");
        }

        if (!File.Exists(scriptPath))
        {
            throw new CliException($"script not found: {scriptPath}");
        }

        try
        {
            // Before the store is opened: a file that is no script must leave no trace.
            WorkflowScripts.Check(scriptPath);
        }
        catch (ScriptCompilationException ex)
        {
            throw new CliException(ex.Message);
        }

        // The journal opens on another core while the log, the configuration and the plugins load; a process that
        // ends with this run also warms up, on a core of its own, what the script's first step needs. A server's
        // later runs find all of that warm anyway.
        var session = StoreSession.Begin(store, verbose, console.JsonLogs);
        var warmUp = oneRunProcess ? StartupWarmUp.Start(session.Log) : null;
        warmUp?.Then(() => WorkflowScripts.Prepare(scriptPath));
        PluginHost? plugins = null;
        ConnectorSet? connectors = null;
        try
        {
            var mcp = LoadMcpConfiguration(Path.GetDirectoryName(scriptPath), session.Directory, mcpConfig);
            connectors = ConnectorFiles.Load(connectorFiles ?? ConnectorFiles.None, scriptPath, session.Directory, session.Secrets);
            var manifest = useCache ? Path.Combine(session.Directory, CacheFolder, PluginManifestFile) : null;
            plugins = PluginHost.Load([PluginHost.DefaultDirectory, .. pluginDirectories], session.Log, watchPlugins, manifest, unloadable: !oneRunProcess);
            foreach (var error in plugins.Errors)
            {
                console.Error($"plugin not loaded: {error.Path}: {error.Message}");
            }

            UseProfiles(plugins, Path.GetDirectoryName(scriptPath), session.Directory);

            // Before compiling: a store this engine cannot read gets no compile cache entry, and says so at once.
            session.WaitUntilOpen(console);
            var cache = useCache ? new ScriptCompileCache(Path.Combine(session.Directory, CacheFolder), session.Log) : null;
            var program = WorkflowScripts.Compile(scriptPath, new JavaScriptOptions(), session.Log, cache, cancellationToken);
            return new WorkflowHost(session, plugins, program, connectors, mcp, warmUp);
        }
        catch (Exception ex)
        {
            warmUp?.Finish();
            connectors?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            plugins?.Dispose();
            session.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw ex is ScriptCompilationException ? new CliException(FirstErrors(ex.Message)) : ex;
        }
    }

    /// <summary>A compiler's errors, at most <c>20</c> lines of them: past that the rest are counted, not printed.</summary>
    private static string FirstErrors(string message)
    {
        const int Shown = 20;
        var lines = message.Split('\n');
        return lines.Length <= Shown ? message : string.Join('\n', lines[..Shown]) + $"\n… and {lines.Length - Shown} more errors";
    }

    /// <summary>The agent profiles of the agents.json files in the store folder and the script's folder; a bad one is bad input.</summary>
    public static void UseProfiles(PluginHost plugins, string? scriptDirectory, string store)
    {
        try
        {
            plugins.UseProfiles(AgentProfiles.Discover(scriptDirectory, store));
        }
        catch (AgentProfileException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    /// <summary>The mcp.json files of the store folder, the script's folder and <c>--mcp-config</c>; a bad one is bad input.</summary>
    public static McpConfiguration LoadMcpConfiguration(string? scriptDirectory, string store, string? mcpConfig)
    {
        try
        {
            return McpConfiguration.Discover(scriptDirectory, store, mcpConfig);
        }
        catch (McpConfigException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Mcp is not null)
        {
            await Mcp.DisposeAsync();
        }

        (Program as IDisposable)?.Dispose();
        Plugins.Dispose();
        await Connectors.DisposeAsync();
        await Session.DisposeAsync();
    }
}
