using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Core.Secrets;

namespace Orchestrator.Core.Connectors;

/// <summary>
/// The connectors a host knows: those of a connectors file (<c>{ "secretsFile": "…", "connectors": { name: spec } }</c>)
/// and those a script defines. Secret references in a spec are resolved (and registered for redaction) when it is
/// read; a connector lives, with its pooled connections, as long as the set.
/// </summary>
internal sealed class ConnectorSet(SecretResolver resolver, string baseDirectory, TimeProvider time) : IAsyncDisposable
{
    /// <summary>The file looked for next to a script and in the store.</summary>
    public const string FileName = "connectors.json";

    private readonly ConcurrentDictionary<string, (IConnector Connector, string Spec)> _connectors = new(StringComparer.Ordinal);

    /// <summary>Where the connectors came from, for messages; null if no file was read.</summary>
    public string? SourcePath { get; private init; }

    private readonly ConcurrentDictionary<string, (ConnectorHealth Health, DateTimeOffset At)> _lastHealth = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Names => [.. _connectors.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Keeps a connector's latest health check for the system state.</summary>
    public void RecordHealth(string name, ConnectorHealth health, DateTimeOffset at) => _lastHealth[name] = (health, at);

    /// <summary>The connector's latest health check, or null if none ran in this process.</summary>
    public (ConnectorHealth Health, DateTimeOffset At)? LastHealth(string name) => _lastHealth.TryGetValue(name, out var last) ? last : null;

    /// <summary>A set with no file: scripts may still define connectors, resolving secrets from <paramref name="resolver"/>.</summary>
    public static ConnectorSet Empty(SecretResolver resolver, TimeProvider time) => new(resolver, Directory.GetCurrentDirectory(), time);

    /// <summary>
    /// Reads a connectors file. Its <c>secretsFile</c> (relative to it) is read unless <paramref name="secretsPath"/>
    /// (<c>--secrets</c>) is given. Every error names the file and, for bad JSON, the line.
    /// </summary>
    public static ConnectorSet Load(string path, string? secretsPath, SecretRegistry registry, Func<string, string?> environment, TimeProvider time)
    {
        path = Path.GetFullPath(path);
        if (!File.Exists(path))
        {
            throw new ConnectorConfigException($"{path}: connectors file not found");
        }

        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject
                ?? throw new ConnectorConfigException($"{path}: must be a JSON object with \"connectors\"");
        }
        catch (JsonException ex)
        {
            throw new ConnectorConfigException($"{path}({(ex.LineNumber ?? 0) + 1}): invalid JSON: {ex.Message}");
        }

        var file = new ConnectorSpec(path, root);
        file.AllowOnly("secretsFile", "connectors");
        var directory = Path.GetDirectoryName(path)!;
        secretsPath ??= file.OptionalString("secretsFile") is { } relative ? Path.GetFullPath(relative, directory) : null;
        var set = new ConnectorSet(Resolver(secretsPath, registry, environment), directory, time) { SourcePath = path };
        if (root["connectors"] is not JsonObject connectors)
        {
            throw new ConnectorConfigException($"{path}: \"connectors\" must be an object of connector definitions");
        }

        foreach (var (name, spec) in connectors)
        {
            set.Define(name, spec, $"{path}: connector '{name}'");
        }

        return set;
    }

    /// <summary>A resolver over a secrets file (when given) and the environment.</summary>
    public static SecretResolver Resolver(string? secretsPath, SecretRegistry registry, Func<string, string?> environment)
    {
        var secrets = secretsPath is null ? new Dictionary<string, string>() : SecretResolver.ReadSecretsFile(Path.GetFullPath(secretsPath));
        return new SecretResolver(registry, secrets, environment, secretsPath);
    }

    /// <summary>
    /// Adds a connector. Defining the same name again with the same spec is a no-op (a resumed script defines its
    /// connectors again); a different spec for a taken name is an error.
    /// </summary>
    public void Define(string name, JsonNode? spec, string where)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Contains('/', StringComparison.Ordinal))
        {
            throw new ConnectorConfigException($"{where}: a connector name must be non-empty and contain no '/'");
        }

        var text = spec?.ToJsonString() ?? "null";
        if (_connectors.TryGetValue(name, out var existing))
        {
            if (existing.Spec == text)
            {
                return;
            }

            throw new ConnectorConfigException($"{where}: a connector named '{name}' is already defined differently");
        }

        ConnectorSpec resolved;
        try
        {
            resolved = ConnectorSpec.From(where, resolver.Resolve(spec, where));
        }
        catch (SecretException ex)
        {
            throw new ConnectorConfigException(ex.Message);
        }

        IConnector connector = resolved.OptionalString("type") switch
        {
            "http" => new HttpConnector(name, resolved, time),
            "process" => new ProcessConnector(name, resolved, baseDirectory, time),
            _ => throw new ConnectorConfigException($"{where}: 'type' must be \"http\" or \"process\""),
        };

        if (!_connectors.TryAdd(name, (connector, text)))
        {
            connector.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Define(name, spec, where);
        }
    }

    public IConnector Get(string name) =>
        _connectors.TryGetValue(name, out var found) ? found.Connector : throw new UnknownConnectorException(name, _connectors.Keys);

    public async ValueTask DisposeAsync()
    {
        foreach (var (connector, _) in _connectors.Values)
        {
            await connector.DisposeAsync().ConfigureAwait(false);
        }

        _connectors.Clear();
    }
}
