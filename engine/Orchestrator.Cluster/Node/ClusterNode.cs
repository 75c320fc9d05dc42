using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;

namespace Orchestrator.Cluster.Node;

/// <summary>
/// This process as a node of the cluster: an Orleans silo (membership in the PostgreSQL database), the directory of live
/// nodes, and the keeper that renews this node's leases and takes over the runs of nodes that died.
/// </summary>
internal sealed class ClusterNode : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly NodeServices _node;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly TimeSpan _tick;

    // Runs whose take-over was refused (a waiting run whose script changed, say): said once, left for `resume --force`.
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);
    private Task _keeping = Task.CompletedTask;
    private Task _watching = Task.CompletedTask;

    private ClusterNode(IHost host, NodeServices node, TimeSpan tick)
    {
        _host = host;
        _node = node;
        _tick = tick;
    }

    public ClusterDirectory Directory => _node.Directory;

    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    /// <summary>Starts the silo, joins the cluster and starts keeping leases; <paramref name="node"/> must have its run manager.</summary>
    public static async Task<ClusterNode> StartAsync(ClusterSettings settings, NodeServices node, CancellationToken cancellationToken)
    {
        var siloPort = settings.SiloPort > 0 ? settings.SiloPort : FreePort();
        var gatewayPort = settings.GatewayPort > 0 ? settings.GatewayPort : FreePort();
        var host = new HostBuilder()
            .UseOrleans(silo =>
            {
                silo.Configure<ClusterOptions>(options =>
                {
                    options.ClusterId = ClusterSettings.ClusterId;
                    options.ServiceId = ClusterSettings.ClusterId;
                });
                silo.Configure<SiloOptions>(options => options.SiloName = settings.Node);
                Configure(silo, settings.FailureTimeout);
                silo.UseAdoNetClustering(options =>
                {
                    options.Invariant = "Npgsql";
                    options.ConnectionString = settings.ConnectionString;
                });
                silo.ConfigureEndpoints(settings.Address, siloPort, gatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(settings.Address));
            })
            .ConfigureServices(services => services.AddSingleton(node))
            .ConfigureLogging(logging => logging.ClearProviders())
            .Build();
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        node.Address = $"{settings.Address}:{siloPort}";
        var cluster = new ClusterNode(host, node, settings.FailureTimeout / 4);
        node.Directory = new ClusterDirectory(host.Services.GetRequiredService<IClusterMembershipService>(), cluster.Grains, node.Name, node.Log);
        await node.Directory.RefreshAsync(cancellationToken).ConfigureAwait(false);
        cluster._keeping = cluster.KeepAsync();
        cluster._watching = cluster.WatchAsync(host.Services.GetRequiredService<IClusterMembershipService>());
        return cluster;
    }

    /// <summary>
    /// What every node's silo shares, real or in a test cluster: placement of a node's grain on the node its key names
    /// (the silo's name), and failure detection scaled to <paramref name="failureTimeout"/>.
    /// </summary>
    internal static void Configure(ISiloBuilder silo, TimeSpan failureTimeout)
    {
        silo.Services.AddPlacementDirector<NodePlacement, NodePlacementDirector>();
        silo.Configure<ClusterMembershipOptions>(options =>
        {
            // A node unheard for about failureTimeout is declared dead by the others' probes.
            options.ProbeTimeout = failureTimeout / 4;
            options.NumMissedProbesLimit = 3;
            options.TableRefreshTimeout = failureTimeout / 2;
            options.IAmAliveTablePublishTimeout = failureTimeout;
            options.DeathVoteExpirationTimeout = failureTimeout * 2;
        });
    }

    /// <summary>Stops keeping leases (so this node takes nothing over while it stops); the runs are the host's to cancel.</summary>
    public async Task StopKeepingAsync()
    {
        _node.Stopping();
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_keeping, _watching).ConfigureAwait(false);
        _node.HandOverParked();
    }

    /// <summary>Leaves the cluster: the others see this node go and take over the runs it handed back.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopKeepingAsync().ConfigureAwait(false);
        }

        using (var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            try
            {
                await _host.StopAsync(stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // It left ungracefully: the others will declare it dead.
            }
        }

        _host.Dispose();
        await _node.Steps.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        _wake.Dispose();
    }

    private async Task KeepAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await KeepOnceAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _node.Log.Warning(ex, "Node {Node}: keeping leases failed; trying again", _node.Name);
            }

            try
            {
                await _wake.WaitAsync(_tick, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Renews this node's leases, of its runs in flight and parked (a run whose lease another node took stops here), then
    /// takes over orphaned runs.
    /// </summary>
    private async Task KeepOnceAsync(CancellationToken cancellationToken)
    {
        string[] mine = [.. _node.Runs.InFlight.Select(r => r.Id), .. _node.Runs.Parked.Ids];
        foreach (var lost in await _node.Leases.RenewAsync(mine, cancellationToken).ConfigureAwait(false))
        {
            _node.Log.Warning("Node {Node} lost the lease of run {RunId} to another node; it stops driving it", _node.Name, lost);
            _node.Runs.Cancel(lost);
            _node.Runs.Parked.Forget(lost);
        }

        await _node.Directory.RefreshAsync(cancellationToken).ConfigureAwait(false);
        var dead = _node.Directory.DeadNodes();
        foreach (var runId in await _node.Leases.OrphansAsync(dead, cancellationToken).ConfigureAwait(false))
        {
            if (_node.Runs.Find(runId) is not null || _refused.Contains(runId))
            {
                continue;
            }

            // Placed by load like a new run; the node it lands on claims the lease, so of several nodes asking, one drives it.
            var placed = await Grains.GetGrain<IRunnerGrain>(runId).ResumeAsync(runId, force: false).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (placed.Error is null)
            {
                _node.Log.Information("Run {RunId} taken over by node {Owner}", runId, placed.Node);
            }
            else if (placed.Refused && _refused.Add(runId))
            {
                _node.Log.Warning("Run {RunId} cannot be taken over: {Error}; 'orchestrator resume --force' continues it", runId, placed.Error);
            }
        }
    }

    /// <summary>Each change of membership (a node joined, left or was declared dead) wakes the keeper at once.</summary>
    private async Task WatchAsync(IClusterMembershipService membership)
    {
        try
        {
            await foreach (var _ in membership.MembershipUpdates.WithCancellation(_stop.Token).ConfigureAwait(false))
            {
                _wake.Release();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
