using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Cli.Host.Dashboard;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Connectors;
using Orchestrator.Core.Health;
using Orchestrator.Core.Mcp;
using Orchestrator.Core.Plugins;
using Orchestrator.Core.Reporting;
using Orchestrator.Core.Runs;
using Orchestrator.Core.Schedules;
using Orchestrator.Core.Telemetry;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CompileCache;

namespace Orchestrator.Cli.Host;

/// <summary>
/// <c>orchestrator serve</c>'s long-lived process: one store, one engine, the plugins, compiled scripts, MCP servers
/// and connectors kept warm, a <see cref="RunManager"/> driving many runs at once, and the HTTP API over Kestrel.
/// Stopping it cancels the runs in flight, which the journal keeps resumable.
/// </summary>
internal sealed class HostServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly StoreSession _session;
    private readonly PluginHost _plugins;
    private readonly ConnectorSet _connectors;
    private readonly CompiledPrograms _programs;

    // serve --cluster's node; null for a host on its own.
    private readonly IAsyncDisposable? _cluster;

    // Starts the runs of the store's schedules; set once the host serves.
    private Scheduler? _scheduler;

    private HostServer(WebApplication app, HostState state, StoreSession session, PluginHost plugins, ConnectorSet connectors, CompiledPrograms programs, IAsyncDisposable? cluster)
    {
        _cluster = cluster;
        _app = app;
        State = state;
        _session = session;
        _plugins = plugins;
        _connectors = connectors;
        _programs = programs;
    }

    public HostState State { get; }

    /// <summary>The address the host listens on (the first, when several), with the port Kestrel chose for port 0.</summary>
    public string Url { get; private set; } = "";

    public string Token => State.Token;

    /// <summary>Opens the store, loads what runs need, and starts listening; refuses an exposed address without a token first.</summary>
    public static async Task<HostServer> StartAsync(HostSettings settings, CliConsole console, CancellationToken cancellationToken)
    {
        settings.CheckExposure();
        var scripts = new ScriptRoot(settings.ScriptsDirectory);
        if (!Directory.Exists(scripts.Directory))
        {
            throw new CliException($"--scripts: folder not found: {scripts.Directory}");
        }

        var session = StoreSession.Open(settings.Store, settings.Verbose, console);
        PluginHost? plugins = null;
        ConnectorSet? connectors = null;
        HostServer? server = null;
        Cluster.ClusterHosting? cluster = null;
        try
        {
            var mcpConfig = WorkflowHost.LoadMcpConfiguration(scripts.Directory, session.Directory, settings.McpConfig);
            connectors = ConnectorFiles.Load(settings.Connectors, scriptPath: null, session.Directory, session.Secrets);
            plugins = PluginHost.Load([PluginHost.DefaultDirectory, .. settings.PluginDirectories], session.Log, manifestPath: Path.Combine(session.Directory, WorkflowHost.CacheFolder, WorkflowHost.PluginManifestFile), unloadable: false);
            foreach (var error in plugins.Errors)
            {
                console.Error($"plugin not loaded: {error.Path}: {error.Message}");
            }

            WorkflowHost.UseProfiles(plugins, scripts.Directory, session.Directory);

            cluster = settings.Cluster is null ? null : await PrepareClusterAsync(settings, plugins, session, cancellationToken);
            var health = new AgentHealthBook(TimeProvider.System);
            var mcp = mcpConfig.Servers.Count == 0 ? null : new McpCoordinator(mcpConfig, TimeProvider.System, session.Log);
            var reports = new ReportWriter(session.Directory, secrets: session.Secrets);
            var engine = new WorkflowEngine(session.Journal, cluster?.Agents ?? plugins, reports, TimeProvider.System, session.Log, health)
            {
                Connectors = connectors,
                Mcp = mcp,
            };
            var programs = new CompiledPrograms(new ScriptCompileCache(Path.Combine(session.Directory, WorkflowHost.CacheFolder), session.Log), session.Log);
            var activity = new HostActivity();
            var runs = new RunManager(engine, session.Journal, programs, session.Log)
            {
                MayRun = script => scripts.Contains(Path.GetFullPath(script)),
                Claim = cluster is null ? null : cluster.ClaimAsync,
                Observers = cluster is null
                    ? [RunTelemetry.Factory(new CircuitWatch(health)), activity.Observe]
                    : [RunTelemetry.Factory(new CircuitWatch(health)), activity.Observe, cluster.Observe],
            };
            var token = settings.Token ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
            var state = new HostState(runs, session.Journal, reports, scripts, plugins, health, activity, connectors, mcp, token, TimeProvider.System) { Cluster = cluster };
            server = new HostServer(Build(settings, state), state, session, plugins, connectors, programs, cluster);
            await server._app.StartAsync(cancellationToken);
            server.Url = server._app.Urls.First();
            new HostFile(server.Url, token, Environment.ProcessId).Write(session.Directory);
            if (cluster is not null)
            {
                await cluster.JoinAsync(runs, server.Url, cancellationToken);
            }

            // Runs left waiting (by CLI runs, or by this host before it stopped) are the host's to continue; in a cluster
            // each is held by one node, and the lease keeper takes over those nobody holds.
            if (cluster is null)
            {
                await runs.Parked.LoadAsync(cancellationToken);
            }

            server._scheduler = new Scheduler(runs, session.Journal, TimeProvider.System, session.Log);
            server._scheduler.Start();
            session.Log.Information("Host serving {Store} on {Url} for scripts under {Scripts}", session.Directory, server.Url, scripts.Directory);
            return server;
        }
        catch (Exception ex)
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
            else
            {
                if (cluster is not null)
                {
                    await cluster.DisposeAsync();
                }

                if (connectors is not null)
                {
                    await connectors.DisposeAsync();
                }

                plugins?.Dispose();
                await session.DisposeAsync();
            }

            if (ex is IOException)
            {
                throw new CliException($"--urls: cannot listen on {string.Join(' ', settings.Urls)}: {ex.Message}");
            }

            throw;
        }
    }

    /// <summary>Cancels the runs in flight (they end cancelled, resumable), stops listening and closes the store.</summary>
    public async ValueTask DisposeAsync()
    {
        _scheduler?.Dispose();
        if (State.Cluster is Cluster.ClusterHosting node)
        {
            await node.StopKeepingAsync();
        }

        await State.Runs.DisposeAsync();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        using (var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await _app.StopAsync(stopping.Token);
        }

        await _app.DisposeAsync();
        HostFile.RemoveIfOurs(_session.Directory);
        if (State.Mcp is not null)
        {
            await State.Mcp.DisposeAsync();
        }

        _programs.Dispose();
        _plugins.Dispose();
        await _connectors.DisposeAsync();
        await _session.DisposeAsync();
    }

    /// <summary>The cluster's side of the host; a method of its own so that a host on its own never loads Orleans.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static async Task<Cluster.ClusterHosting> PrepareClusterAsync(HostSettings settings, PluginHost plugins, StoreSession session, CancellationToken cancellationToken) =>
        await Cluster.ClusterHosting.PrepareAsync(settings, session.Journal, plugins, session.Log, cancellationToken);

    private static WebApplication Build(HostSettings settings, HostState state)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = state.Scripts.Directory });
        builder.WebHost.UseUrls([.. settings.Urls]);
        builder.Logging.ClearProviders();

        // The command owns Ctrl+C and SIGTERM: it stops the runs first, then the server.
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
        builder.Services.AddOpenApi();
        var app = builder.Build();
        var dashboard = DashboardAssets.Load();
        app.Use((context, next) =>
            dashboard.TryServe(context, out var served) ? served
            : Authorized(context, state.Token) ? next(context)
            : Unauthorized(context));
        app.MapOpenApi();
        HostApi.Map(app, state);
        return app;
    }

    /// <summary><c>Authorization: Bearer TOKEN</c>, or <c>?access_token=TOKEN</c> for clients that cannot set headers (EventSource).</summary>
    private static bool Authorized(HttpContext context, string token)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var given = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? header["Bearer ".Length..].Trim()
            : context.Request.Query["access_token"].ToString();
        return given.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(token));
    }

    private static Task Unauthorized(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return context.Response.WriteAsJsonAsync(new { error = "this host needs its token: Authorization: Bearer TOKEN (see host.json in the store folder)" });
    }

    /// <summary>A lifetime that leaves the process's signals to the command.</summary>
    private sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>What the API's endpoints read and drive.</summary>
internal sealed record HostState(
    RunManager Runs,
    Core.Journal.IJournal Journal,
    ReportWriter Reports,
    ScriptRoot Scripts,
    PluginHost Plugins,
    AgentHealthBook Health,
    HostActivity Activity,
    ConnectorSet Connectors,
    McpCoordinator? Mcp,
    string Token,
    TimeProvider Time)
{
    /// <summary>The cluster this host is a node of (<c>serve --cluster</c>); null for a host on its own.</summary>
    public Cluster.IClusterRouting? Cluster { get; init; }
}
