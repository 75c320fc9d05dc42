using System.Text.Json.Nodes;

namespace Orchestrator.Scripting.CSharp;

/// <summary>
/// External systems for .csx workflows: <c>await Connector("billing").GetAsync("/invoices")</c>,
/// <c>await Connector("git").RunAsync("status")</c>, <c>await Connector("billing").HealthAsync()</c>.
/// Connectors come from connectors.json or <c>DefineConnector</c>; every call is a journaled step.
/// </summary>
public sealed partial class WorkflowGlobals
{
    /// <summary>A connector declared in connectors.json or by <see cref="DefineConnector"/>.</summary>
    public ConnectorHandle Connector(string name) => new(this, name);

    /// <summary>
    /// Defines a connector from the script, in the shape connectors.json uses:
    /// <c>new { type = "http", baseUrl = "…", headers = new { Authorization = "Bearer ${secret:TOKEN}" } }</c>.
    /// The engine resolves <c>${env:…}</c> and <c>${secret:…}</c>, so the script never holds the secret.
    /// </summary>
    public void DefineConnector(string name, object spec) => _root.DefineConnector(name, ToJson(spec));

    internal Task<JsonNode?> CallConnector(string connector, object? request, string? name) =>
        Scope.CallConnectorAsync(connector, ToJson(request), name, CancellationToken);

    internal Task<JsonNode?> CheckConnector(string connector) => Scope.CheckConnectorAsync(connector, CancellationToken);
}

/// <summary>A connector bound to a workflow, as <c>Connector("billing")</c> returns it. Each call is a step named after the connector unless <c>name</c> says otherwise.</summary>
public sealed class ConnectorHandle
{
    private readonly WorkflowGlobals _globals;

    internal ConnectorHandle(WorkflowGlobals globals, string name)
    {
        _globals = globals;
        Name = name;
    }

    public string Name { get; }

    /// <summary>Sends a request as it is: <c>{ method, path, headers, body }</c> to an HTTP connector, <c>{ args, stdin }</c> to a process connector.</summary>
    public Task<JsonNode?> CallAsync(object request, string? name = null) => _globals.CallConnector(Name, request, name);

    /// <summary>GET <paramref name="path"/> (relative to the connector's base URL).</summary>
    public Task<JsonNode?> GetAsync(string path, string? name = null) => Http("GET", path, null, name);

    /// <summary>POST <paramref name="body"/> (a string is sent as text, anything else as JSON).</summary>
    public Task<JsonNode?> PostAsync(string path, object? body, string? name = null) => Http("POST", path, body, name);

    /// <summary>PUT <paramref name="body"/>.</summary>
    public Task<JsonNode?> PutAsync(string path, object? body, string? name = null) => Http("PUT", path, body, name);

    /// <summary>DELETE <paramref name="path"/>.</summary>
    public Task<JsonNode?> DeleteAsync(string path, string? name = null) => Http("DELETE", path, null, name);

    /// <summary>Runs a process connector's program with these arguments after its own.</summary>
    public Task<JsonNode?> RunAsync(params string[] args) => _globals.CallConnector(Name, new JsonObject { ["args"] = new JsonArray([.. args.Select(a => JsonValue.Create(a))]) }, null);

    /// <summary>Runs the connector's health check as the step <c>&lt;name&gt;.health</c>: <c>{ healthy, latencyMs, detail }</c>.</summary>
    public Task<JsonNode?> HealthAsync() => _globals.CheckConnector(Name);

    private Task<JsonNode?> Http(string method, string path, object? body, string? name)
    {
        var request = new JsonObject { ["method"] = method, ["path"] = path };
        if (body is not null)
        {
            request["body"] = _globals.ToJson(body);
        }

        return _globals.CallConnector(Name, request, name);
    }
}
