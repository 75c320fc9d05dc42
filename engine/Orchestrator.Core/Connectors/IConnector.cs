using System.Text.Json.Nodes;

namespace Orchestrator.Core.Connectors;

/// <summary>An external system the engine talks to on a script's behalf: an HTTP endpoint or a process.</summary>
internal interface IConnector : IAsyncDisposable
{
    string Name { get; }

    /// <summary><c>http</c> or <c>process</c>.</summary>
    string Type { get; }

    /// <summary>What it talks to, for listings and messages: a base URL or a command; never a secret.</summary>
    string Target { get; }

    /// <summary>Sends one request; a failure throws with the output kept (status, stderr...).</summary>
    Task<JsonNode?> CallAsync(JsonNode? request, CancellationToken cancellationToken);

    /// <summary>Runs the connector's health check; never throws for an unhealthy system, only reports it.</summary>
    Task<ConnectorHealth> CheckHealthAsync(CancellationToken cancellationToken);
}

/// <summary>The outcome of a health check.</summary>
internal sealed record ConnectorHealth(bool Healthy, double LatencyMs, string? Detail)
{
    public JsonObject ToJson() => new() { ["healthy"] = Healthy, ["latencyMs"] = LatencyMs, ["detail"] = Detail };
}

/// <summary>A connectors file or a script's connector definition is invalid; the message names the file or the connector.</summary>
internal sealed class ConnectorConfigException(string message) : Exception(message);

/// <summary>A script asked for a connector nobody declared.</summary>
public sealed class UnknownConnectorException(string name, IEnumerable<string> known)
    : Exception($"unknown connector '{name}'; known connectors: {(known.Any() ? string.Join(", ", known.Order(StringComparer.Ordinal)) : "(none declared: add a connectors.json or DefineConnector)")}");
