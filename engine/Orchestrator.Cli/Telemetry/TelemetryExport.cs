using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orchestrator.Core.Telemetry;

namespace Orchestrator.Cli.Telemetry;

/// <summary>The OpenTelemetry SDK's providers for the engine's source and meter, with the exporters asked for.</summary>
internal sealed class TelemetryExport(TracerProvider traces, MeterProvider metrics) : IDisposable
{
    public static TelemetryExport Start(Uri? otlp, bool console)
    {
        var resource = ResourceBuilder.CreateDefault().AddService("orchestrator", serviceVersion: Core.Workflow.WorkflowEngine.EngineVersion);
        var tracing = Sdk.CreateTracerProviderBuilder().SetResourceBuilder(resource).AddSource(OrchestratorTelemetry.Name);
        var metering = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource).AddMeter(OrchestratorTelemetry.Name);
        if (otlp is not null)
        {
            tracing = tracing.AddOtlpExporter(o => o.Endpoint = otlp);
            metering = metering.AddOtlpExporter(o => o.Endpoint = otlp);
        }

        if (console)
        {
            tracing = tracing.AddConsoleExporter(o => o.Targets = OpenTelemetry.Exporter.ConsoleExporterOutputTargets.Console);
            metering = metering.AddConsoleExporter(o => o.Targets = OpenTelemetry.Exporter.ConsoleExporterOutputTargets.Console);
        }

        return new TelemetryExport(tracing.Build(), metering.Build());
    }

    /// <summary>Flushes what is left (a <c>run</c> process ends right after) and stops exporting.</summary>
    public void Dispose()
    {
        traces.Dispose();
        metrics.Dispose();
    }
}
