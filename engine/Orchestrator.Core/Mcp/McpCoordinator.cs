using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Serilog;

namespace Orchestrator.Core.Mcp;

/// <summary>One failed try of a call, as the journal and the report show it.</summary>
internal sealed record McpFailover(string Server, string Error);

/// <summary>
/// The MCP servers of a host: started on first use, routed by tool name, balanced over the servers that offer the
/// same tool, and kept healthy by a ping on an interval (the engine's <see cref="TimeProvider"/>) that takes failing
/// servers out of rotation and restarts them. One per host, shared by its runs, like agent health.
/// </summary>
internal sealed class McpCoordinator : IAsyncDisposable
{
    private readonly McpConfiguration _config;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, int> _turns = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _startGate = new();
    private Task? _started;
    private Task? _healthLoop;

    public McpCoordinator(McpConfiguration config, TimeProvider time, ILogger log)
    {
        _config = config;
        _time = time;
        _log = log;
        Servers = [.. config.Servers.Select(s => new McpServerConnection(s, log))];
    }

    public McpConfiguration Configuration => _config;

    public IReadOnlyList<McpServerConnection> Servers { get; }

    /// <summary>
    /// Connects every server (at once, in parallel) and starts the health checks; later calls wait for the same start.
    /// A server that fails to start is left unhealthy for the health checks to retry; it does not fail the others.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_startGate)
        {
            _started ??= StartCoreAsync();
        }

        return _started.WaitAsync(cancellationToken);
    }

    /// <summary>One round of health checks over every server: ping, and restart those that fail or were down.</summary>
    public Task CheckHealthAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(Servers.Select(s => s.CheckAsync(_config.PingTimeout, _time, cancellationToken)));

    /// <summary>
    /// Calls <paramref name="tool"/> on <paramref name="server"/>, or on a server the balancer picks among the healthy ones
    /// that offer it. A server that fails mid-call is taken out of rotation and the call goes to the next one; a tool that
    /// refuses the call fails it at once. <paramref name="attempt"/> runs each try (the engine journals each as a step).
    /// </summary>
    public async Task<JsonObject> CallAsync(
        string? server,
        string tool,
        JsonNode? arguments,
        Func<McpServerConnection, Func<CancellationToken, Task<JsonObject>>, CancellationToken, Task<JsonObject>> attempt,
        CancellationToken cancellationToken)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        var offering = Route(server, tool);
        var failovers = new List<McpFailover>();
        var tried = new HashSet<McpServerConnection>();
        while (true)
        {
            var healthy = offering.Where(s => s.Health == McpServerHealth.Healthy && !tried.Contains(s)).ToList();
            if (healthy.Count == 0)
            {
                foreach (var down in offering.Where(s => !tried.Contains(s)))
                {
                    failovers.Add(new McpFailover(down.Name, "unhealthy: " + down.LastError));
                }

                var why = string.Join("; ", failovers.Select(f => $"{f.Server}: {f.Error}"));
                throw new McpServerUnavailableException($"no healthy MCP server offers tool '{tool}' ({why})");
            }

            var chosen = Pick(tool, healthy);
            tried.Add(chosen);

            // Servers skipped because they were down show in the result too: that is the failover the report shows.
            foreach (var down in offering.Where(s => s.Health != McpServerHealth.Healthy && tried.Add(s)))
            {
                failovers.Add(new McpFailover(down.Name, "unhealthy: " + down.LastError));
            }

            try
            {
                var result = await attempt(chosen, ct => chosen.CallAsync(tool, arguments, ct), cancellationToken).ConfigureAwait(false);
                if (failovers.Count > 0)
                {
                    result["failover"] = new JsonArray([.. failovers.Select(f => new JsonObject { ["server"] = f.Server, ["error"] = f.Error })]);
                }

                return result;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && !IsToolFailure(ex))
            {
                failovers.Add(new McpFailover(chosen.Name, Innermost(ex).Message));
                var others = offering.Where(s => !tried.Contains(s)).Select(s => s.Name).ToList();
                if (others.Count > 0 && !MayResend(chosen, tool))
                {
                    // The first server may have run the call before it failed: sending it again could do it twice.
                    throw new McpServerUnavailableException(
                        $"{Innermost(ex).Message}; the call may have run on '{chosen.Name}', so it is not sent again to '{string.Join("', '", others)}': " +
                        $"tool '{tool}' is not marked read-only or idempotent (set \"retrySafe\": true on the server to allow it)");
                }

                _log.Warning("MCP call of {Tool} on {McpServer} failed, failing over: {Error}", tool, chosen.Name, ex.Message);
            }
        }
    }

    /// <summary>Whether a call that failed on <paramref name="server"/> mid-call may go to another: the tool says so, or the server's entry does.</summary>
    private static bool MayResend(McpServerConnection server, string tool) =>
        server.Config.RetrySafe || server.Tools.Any(t => t.Name == tool && t.RetrySafe);

    /// <summary>Every tool on offer, with the servers that offer it, for messages and listings.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> ToolsOnOffer() =>
        Servers.SelectMany(s => s.Tools.Select(t => (Tool: t.Name, Server: s.Name)))
            .GroupBy(p => p.Tool, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(p => p.Server)], StringComparer.Ordinal);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_healthLoop is { } loop)
        {
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await Task.WhenAll(Servers.Select(s => s.DisposeAsync().AsTask())).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task StartCoreAsync()
    {
        await Task.WhenAll(Servers.Select(async s =>
        {
            try
            {
                await s.ConnectAsync(_config.PingTimeout, _time, _stopping.Token).ConfigureAwait(false);
            }
            catch (McpServerUnavailableException)
            {
                // Recorded on the server (unhealthy, with the reason); routing and listings report it.
            }
        })).ConfigureAwait(false);

        // The timer exists once the start is over, so the first interval counts from there.
        var timer = new PeriodicTimer(_config.HealthCheckInterval, _time);
        _healthLoop = Task.Run(() => HealthLoopAsync(timer, _stopping.Token), CancellationToken.None);
    }

    private async Task HealthLoopAsync(PeriodicTimer timer, CancellationToken ct)
    {
        using var owned = timer;
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                await CheckHealthAsync(ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The host is shutting down.
        }
    }

    private IReadOnlyList<McpServerConnection> Route(string? server, string tool)
    {
        if (Servers.Count == 0)
        {
            throw new McpToolException($"no MCP servers are configured: put an {McpConfiguration.FileName} next to the script or in the store folder, or pass --mcp-config FILE");
        }

        var candidates = Servers;
        if (server is not null)
        {
            var named = Servers.FirstOrDefault(s => string.Equals(s.Name, server, StringComparison.Ordinal))
                ?? throw new McpToolException($"unknown MCP server '{server}'; servers: {string.Join(", ", Servers.Select(s => s.Name))}");
            candidates = [named];
        }

        var offering = candidates.Where(s => s.Offers(tool)).ToList();
        if (offering.Count > 0)
        {
            return offering;
        }

        var onOffer = server is null
            ? string.Join(", ", ToolsOnOffer().Keys)
            : string.Join(", ", candidates[0].Tools.Select(t => t.Name));
        var down = candidates.Where(s => s.Health == McpServerHealth.Unhealthy && s.Tools.Count == 0).Select(s => $"{s.Name}: {s.LastError}").ToList();
        var where = server is null ? "on any MCP server" : $"on MCP server '{server}'";
        throw new McpToolException($"unknown tool '{tool}' {where}; tools on offer: {(onOffer.Length == 0 ? "(none)" : onOffer)}"
            + (down.Count == 0 ? string.Empty : $"; not started: {string.Join("; ", down)}"));
    }

    private McpServerConnection Pick(string tool, IReadOnlyList<McpServerConnection> healthy)
    {
        var turn = _turns.AddOrUpdate(tool, 0, (_, n) => n + 1);
        if (_config.Balancing == McpBalancing.RoundRobin)
        {
            return healthy[turn % healthy.Count];
        }

        // Least outstanding requests; servers that tie take turns, so that sequential calls spread too.
        var least = healthy.Min(s => s.Outstanding);
        var tied = healthy.Where(s => s.Outstanding == least).ToList();
        return tied[turn % tied.Count];
    }

    private static bool IsToolFailure(Exception ex) => Innermost(ex) is McpToolException;

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null && ex is not McpToolException and not McpServerUnavailableException)
        {
            ex = ex.InnerException;
        }

        return ex;
    }
}
