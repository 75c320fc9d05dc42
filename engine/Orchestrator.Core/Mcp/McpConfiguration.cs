using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Core.Mcp;

/// <summary>How calls to a tool that several servers offer are spread over them.</summary>
public enum McpBalancing
{
    /// <summary>The server with the fewest calls in flight; ties take turns.</summary>
    LeastOutstanding,

    /// <summary>Each server in turn.</summary>
    RoundRobin,
}

/// <summary>One server of an mcp.json: a command started over stdio, or a streamable HTTP endpoint.</summary>
internal sealed record McpServerConfig(string Name, string Source)
{
    public string? Command { get; init; }

    public IReadOnlyList<string> Args { get; init; } = [];

    public IReadOnlyDictionary<string, string?> Env { get; init; } = new Dictionary<string, string?>();

    public string? WorkingDirectory { get; init; }

    public Uri? Url { get; init; }

    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>A call that failed mid-call may be sent again to another server, whatever its tool's annotations say.</summary>
    public bool RetrySafe { get; init; }

    public bool IsStdio => Command is not null;

    public string Transport => IsStdio ? "stdio" : "http";

    /// <summary>What the server is, for listings and messages (never its environment or headers, which may hold secrets).</summary>
    public string Target => IsStdio ? string.Join(' ', [Command!, .. Args]) : Url!.ToString();
}

/// <summary>The servers a run can call and how the engine treats them, merged from every mcp.json found.</summary>
internal sealed record McpConfiguration
{
    public const string FileName = "mcp.json";

    public static McpConfiguration Empty { get; } = new();

    public IReadOnlyList<McpServerConfig> Servers { get; init; } = [];

    /// <summary>The files the servers came from, in the order they were read.</summary>
    public IReadOnlyList<string> Sources { get; init; } = [];

    // Settings a file leaves out are null here, so that a later file overrides only what it says.
    private McpBalancing? _balancing;
    private TimeSpan? _healthCheckInterval;
    private TimeSpan? _pingTimeout;

    public McpBalancing Balancing { get => _balancing ?? McpBalancing.LeastOutstanding; init => _balancing = value; }

    /// <summary>How often each server is pinged.</summary>
    public TimeSpan HealthCheckInterval { get => _healthCheckInterval ?? TimeSpan.FromSeconds(10); init => _healthCheckInterval = value; }

    /// <summary>A ping (or a connection) that takes longer fails the health check.</summary>
    public TimeSpan PingTimeout { get => _pingTimeout ?? TimeSpan.FromSeconds(5); init => _pingTimeout = value; }

    /// <summary>
    /// The configuration a script sees: the store folder's mcp.json, then the one next to the script, then
    /// <paramref name="explicitFile"/>; a later file's server replaces an earlier one of the same name.
    /// A missing explicit file, or any file that does not parse, is an <see cref="McpConfigException"/>.
    /// </summary>
    public static McpConfiguration Discover(string? scriptDirectory, string? storeDirectory, string? explicitFile)
    {
        var files = new List<string>();
        foreach (var dir in new[] { storeDirectory, scriptDirectory })
        {
            if (dir is not null && Path.Combine(Path.GetFullPath(dir), FileName) is var candidate && File.Exists(candidate) && !files.Contains(candidate))
            {
                files.Add(candidate);
            }
        }

        if (explicitFile is not null)
        {
            var full = Path.GetFullPath(explicitFile);
            if (!File.Exists(full))
            {
                throw new McpConfigException($"{full}: MCP configuration file not found");
            }

            files.Remove(full);
            files.Add(full);
        }

        var merged = Empty;
        foreach (var file in files)
        {
            merged = merged.Overlay(Parse(File.ReadAllText(file), file));
        }

        return merged;
    }

    /// <summary>Parses one mcp.json: <c>{"mcpServers": {name: {command, args, env, cwd} | {url, headers}}}</c>, plus the engine's own keys.</summary>
    public static McpConfiguration Parse(string json, string source)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            var line = ex.LineNumber is { } l ? $"({l + 1})" : string.Empty;
            throw new McpConfigException($"{source}{line}: error: not valid JSON: {FirstSentence(ex.Message)}");
        }

        if (root is not JsonObject top)
        {
            throw new McpConfigException($"{source}: error: expected an object such as {{\"mcpServers\": {{\"name\": {{\"command\": \"...\"}}}}}}");
        }

        var config = new McpConfiguration { Sources = [source] };
        foreach (var (key, value) in top)
        {
            config = key switch
            {
                "mcpServers" => config with { Servers = ParseServers(value, source) },
                "loadBalancing" => config with { Balancing = ParseBalancing(value, source) },
                "healthCheckIntervalMs" => config with { HealthCheckInterval = PositiveMs(value, source, key) },
                "pingTimeoutMs" => config with { PingTimeout = PositiveMs(value, source, key) },
                _ => throw new McpConfigException($"{source}: error: unknown key '{key}'; known: mcpServers, loadBalancing, healthCheckIntervalMs, pingTimeoutMs"),
            };
        }

        if (!top.ContainsKey("mcpServers"))
        {
            throw new McpConfigException($"{source}: error: no \"mcpServers\" object");
        }

        return config;
    }

    /// <summary>This configuration with <paramref name="later"/>'s servers and settings on top.</summary>
    public McpConfiguration Overlay(McpConfiguration later)
    {
        var servers = Servers.Where(s => later.Servers.All(l => !string.Equals(l.Name, s.Name, StringComparison.Ordinal))).Concat(later.Servers).ToList();
        return later with
        {
            Servers = servers,
            Sources = [.. Sources, .. later.Sources],
            _balancing = later._balancing ?? _balancing,
            _healthCheckInterval = later._healthCheckInterval ?? _healthCheckInterval,
            _pingTimeout = later._pingTimeout ?? _pingTimeout,
        };
    }

    private static IReadOnlyList<McpServerConfig> ParseServers(JsonNode? node, string source)
    {
        if (node is not JsonObject servers)
        {
            throw new McpConfigException($"{source}: error: \"mcpServers\" must be an object of servers by name");
        }

        var list = new List<McpServerConfig>();
        foreach (var (name, value) in servers)
        {
            var where = $"{source}: error: server '{name}'";
            if (value is not JsonObject server)
            {
                throw new McpConfigException($"{where} must be an object with \"command\" or \"url\"");
            }

            if (server["disabled"] is JsonValue disabled && disabled.TryGetValue<bool>(out var off) && off)
            {
                continue;
            }

            foreach (var (key, _) in server)
            {
                if (Array.IndexOf(ServerKeys, key) < 0)
                {
                    throw new McpConfigException($"{where}: unknown key '{key}'; known: {string.Join(", ", ServerKeys)}");
                }
            }

            var command = OptionalString(server, "command", where);
            var url = OptionalString(server, "url", where);
            if ((command is null) == (url is null))
            {
                throw new McpConfigException($"{where} needs either \"command\" (stdio) or \"url\" (streamable HTTP)");
            }

            var retrySafe = server["retrySafe"] switch
            {
                null => false,
                JsonValue v when v.TryGetValue<bool>(out var safe) => safe,
                _ => throw new McpConfigException($"{where}: \"retrySafe\" must be true or false"),
            };
            var baseDir = Path.GetDirectoryName(source) ?? Directory.GetCurrentDirectory();
            if (command is not null)
            {
                // A relative path with a folder in it is relative to the mcp.json; a bare name is looked up on PATH.
                var resolved = command.Contains('/') && !Path.IsPathRooted(command) ? Path.GetFullPath(command, baseDir) : command;
                var cwd = OptionalString(server, "cwd", where);
                list.Add(new McpServerConfig(name, source)
                {
                    Command = resolved,
                    Args = StringArray(server["args"], $"{where}: \"args\""),
                    Env = StringMap(server["env"], $"{where}: \"env\"").ToDictionary(p => p.Key, p => (string?)p.Value),
                    WorkingDirectory = cwd is null ? baseDir : Path.GetFullPath(cwd, baseDir),
                    RetrySafe = retrySafe,
                });
            }
            else
            {
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                {
                    throw new McpConfigException($"{where}: \"url\" must be an absolute http or https URL, not '{url}'");
                }

                list.Add(new McpServerConfig(name, source) { Url = uri, Headers = StringMap(server["headers"], $"{where}: \"headers\""), RetrySafe = retrySafe });
            }
        }

        return list;
    }

    private static readonly string[] ServerKeys = ["command", "args", "env", "cwd", "url", "headers", "type", "disabled", "description", "retrySafe"];

    private static McpBalancing ParseBalancing(JsonNode? node, string source) =>
        (node as JsonValue)?.TryGetValue<string>(out var text) == true && text is "leastOutstanding" or "roundRobin"
            ? text == "roundRobin" ? McpBalancing.RoundRobin : McpBalancing.LeastOutstanding
            : throw new McpConfigException($"{source}: error: \"loadBalancing\" must be \"leastOutstanding\" or \"roundRobin\"");

    private static TimeSpan PositiveMs(JsonNode? node, string source, string key) =>
        (node as JsonValue)?.TryGetValue<double>(out var ms) == true && ms > 0
            ? TimeSpan.FromMilliseconds(ms)
            : throw new McpConfigException($"{source}: error: \"{key}\" must be a positive number of milliseconds");

    private static string? OptionalString(JsonObject obj, string key, string where) => obj[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) && s.Length > 0 => s,
        _ => throw new McpConfigException($"{where}: \"{key}\" must be a non-empty string"),
    };

    private static IReadOnlyList<string> StringArray(JsonNode? node, string where) => node switch
    {
        null => [],
        JsonArray a when a.All(i => i is JsonValue v && v.TryGetValue<string>(out _)) => [.. a.Select(i => i!.GetValue<string>())],
        _ => throw new McpConfigException($"{where} must be an array of strings"),
    };

    private static IReadOnlyDictionary<string, string> StringMap(JsonNode? node, string where) => node switch
    {
        null => new Dictionary<string, string>(),
        JsonObject o when o.All(p => p.Value is JsonValue v && v.TryGetValue<string>(out _)) => o.ToDictionary(p => p.Key, p => p.Value!.GetValue<string>(), StringComparer.Ordinal),
        _ => throw new McpConfigException($"{where} must be an object of strings"),
    };

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}

/// <summary>An mcp.json that is missing or wrong; the message names the file (and line where there is one).</summary>
internal sealed class McpConfigException(string message) : Exception(message);
