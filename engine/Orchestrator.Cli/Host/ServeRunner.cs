using Orchestrator.Cli.Telemetry;

namespace Orchestrator.Cli.Host;

/// <summary>What <c>orchestrator serve</c> does once parsed: start the host, serve until Ctrl+C or SIGTERM, stop cleanly.</summary>
internal static class ServeRunner
{
    public static async Task<int> ServeAsync(CliConsole console, HostSettings settings, string? otlp, bool otelConsole, CancellationToken cancellationToken)
    {
        using var telemetry = TelemetryOptions.Start(otlp, otelConsole);
        var server = await HostServer.StartAsync(settings, console, cancellationToken);
        try
        {
            console.Line($"serving on {server.Url} (scripts under {server.State.Scripts.Directory}; address and token in {HostFile.PathIn(Hosting.StoreLocation.Folder(settings.Store))})");
            console.Line($"dashboard: {server.Url}/ (it asks for the token once; or open {server.Url}/?token=TOKEN)");
            await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            var inFlight = server.State.Runs.InFlight.Count;
            console.Line(inFlight == 0 ? "stopping" : $"stopping: cancelling {inFlight} run(s) in flight; 'orchestrator resume <id>' continues them");
        }
        finally
        {
            await server.DisposeAsync();
        }

        return ExitCodes.Success;
    }
}
