using System.Text.Json.Nodes;
using Orchestrator.Core.Connectors;

namespace Orchestrator.Core.Workflow;

/// <summary>Calls to external systems through connectors: each call and each health check is a journaled step.</summary>
public sealed partial class WorkflowScope
{
    /// <summary>The names of the connectors the host declared or the script defined.</summary>
    public IReadOnlyCollection<string> ConnectorNames => _run.Connectors.Names;

    /// <summary>
    /// Defines a connector from the script (the same shape as in connectors.json); <c>${env:NAME}</c> and
    /// <c>${secret:NAME}</c> references in it are resolved by the engine, so the script never holds the secret.
    /// </summary>
    public void DefineConnector(string name, JsonNode? spec)
    {
        try
        {
            _run.Connectors.Define(name, spec, $"connector '{name}'");
        }
        catch (ConnectorConfigException ex)
        {
            throw new ArgumentException(ex.Message, nameof(spec), ex);
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> to the connector as the step <paramref name="name"/> (default: the connector's
    /// name). A failed call (non-2xx status, non-zero exit, unreachable) fails the step with its output kept.
    /// </summary>
    public Task<JsonNode?> CallConnectorAsync(string connector, JsonNode? request, string? name = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connector);
        return RunStepAsync(name ?? connector, "connector", connector, request, (_, _, ct) => _run.Connectors.Get(connector).CallAsync(request, ct), cancellationToken);
    }

    /// <summary>Runs the connector's health check as the step <c>&lt;connector&gt;.health</c>: <c>{ healthy, latencyMs, detail }</c>.</summary>
    public Task<JsonNode?> CheckConnectorAsync(string connector, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connector);
        return RunStepAsync(connector + ".health", "health", connector, null, async (_, _, ct) =>
        {
            var health = await _run.Connectors.Get(connector).CheckHealthAsync(ct).ConfigureAwait(false);
            _run.Connectors.RecordHealth(connector, health, _run.Time.GetUtcNow());
            return (JsonNode?)health.ToJson();
        }, cancellationToken);
    }
}
