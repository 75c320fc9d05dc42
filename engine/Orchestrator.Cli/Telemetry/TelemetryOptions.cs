using System.CommandLine;
using System.Runtime.CompilerServices;

namespace Orchestrator.Cli.Telemetry;

/// <summary>
/// <c>--otlp URL</c> and <c>--otel-console</c> (and the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>): the opt-in
/// exporters of the engine's spans and metrics. Without one, no OpenTelemetry assembly is loaded.
/// </summary>
internal static class TelemetryOptions
{
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public static Option<string?> Otlp() => new("--otlp")
    {
        Description = "Export traces and metrics over OTLP to this endpoint (default from OTEL_EXPORTER_OTLP_ENDPOINT).",
    };

    public static Option<bool> Console() => new("--otel-console")
    {
        Description = "Print traces and metrics on standard output as they are exported.",
    };

    /// <summary>Starts the exporters asked for; dispose to flush them. Null when none is asked for.</summary>
    public static IDisposable? Start(string? otlp, bool console)
    {
        var endpoint = otlp ?? Environment.GetEnvironmentVariable(EndpointVariable);
        if (string.IsNullOrWhiteSpace(endpoint) && !console)
        {
            return null;
        }

        Uri? uri = null;
        if (!string.IsNullOrWhiteSpace(endpoint) && !Uri.TryCreate(endpoint, UriKind.Absolute, out uri))
        {
            throw new CliException($"{(otlp is null ? EndpointVariable : "--otlp")}: '{endpoint}' is not an absolute URL");
        }

        return StartSdk(uri, console);
    }

    // Out of line: only a process that exports loads the OpenTelemetry SDK.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IDisposable StartSdk(Uri? otlp, bool console) => TelemetryExport.Start(otlp, console);
}
