using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Serilog;

namespace Orchestrator.Core.Mcp;

/// <summary>Whether a server takes calls.</summary>
public enum McpServerHealth
{
    /// <summary>Not connected yet.</summary>
    Unknown,

    /// <summary>Connected and answering: in rotation.</summary>
    Healthy,

    /// <summary>Failed a call or a ping, or its process died: out of rotation until a health check brings it back.</summary>
    Unhealthy,
}

/// <summary>A tool as a server describes it.</summary>
/// <param name="RetrySafe">The server marks the tool read-only or idempotent: a call that failed mid-call may be sent again.</param>
internal sealed record McpToolInfo(string Name, string? Description, JsonElement InputSchema, bool RetrySafe = false);

/// <summary>
/// One configured server: its client session (started lazily, restarted by health checks), its tools, the calls
/// in flight on it and its health. A failed call or ping opens its circuit (out of rotation); a health check that
/// reconnects and pings closes it again.
/// </summary>
internal sealed class McpServerConnection : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ILogger _log;
    private McpClient? _client;
    private int _outstanding;
    private long _calls;
    private long _failures;
    private int _starts;

    // Bumped whenever a session is replaced, so that the end of an old session is not taken for a failure of the new one.
    private int _session;
    private bool _disposed;

    public McpServerConnection(McpServerConfig config, ILogger log)
    {
        Config = config;
        _log = log.ForContext("McpServer", config.Name);
    }

    public McpServerConfig Config { get; }

    public string Name => Config.Name;

    public McpServerHealth Health { get; private set; } = McpServerHealth.Unknown;

    /// <summary>Why the server is unhealthy (or failed last); null when healthy.</summary>
    public string? LastError { get; private set; }

    /// <summary>The tools the server offered when it last connected; kept while it is down, so routing can name them.</summary>
    public IReadOnlyList<McpToolInfo> Tools { get; private set; } = [];

    public int Outstanding => Volatile.Read(ref _outstanding);

    public long Calls => Interlocked.Read(ref _calls);

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>How many times the server was (re)connected; a restart of a stdio server starts a new process.</summary>
    public int Starts => Volatile.Read(ref _starts);

    /// <summary>Raised when <see cref="Health"/> changes.</summary>
    public event Action<McpServerConnection>? HealthChanged;

    public bool Offers(string tool) => Tools.Any(t => string.Equals(t.Name, tool, StringComparison.Ordinal));

    /// <summary>Connects (starting the process of a stdio server) unless connected; a failure leaves the server unhealthy and throws.</summary>
    public async Task ConnectAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_client is not null && Health == McpServerHealth.Healthy)
            {
                return;
            }

            await StartLockedAsync(timeout, time, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The health check: a connected server is pinged; a server that fails the ping, or was unhealthy, is restarted
    /// (a new session; a new process for stdio) and pinged again. Returns whether it is healthy now.
    /// </summary>
    public async Task<bool> CheckAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_client is { } client && Health == McpServerHealth.Healthy)
            {
                try
                {
                    await client.PingAsync(cancellationToken: cancellationToken).AsTask().WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
                    return true;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    MarkUnhealthy(ex is TimeoutException ? $"no answer to a ping within {timeout.TotalMilliseconds:0} ms" : $"ping failed: {Describe(ex)}");
                }
            }

            try
            {
                await StartLockedAsync(timeout, time, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Calls a tool once. Throws <see cref="McpToolException"/> when the tool refuses the call, anything else when the server failed.</summary>
    public async Task<JsonObject> CallAsync(string tool, JsonNode? arguments, CancellationToken cancellationToken)
    {
        var client = _client ?? throw new InvalidOperationException($"MCP server '{Name}' is not connected");
        Interlocked.Increment(ref _outstanding);
        Interlocked.Increment(ref _calls);
        try
        {
            var result = await client.CallToolAsync(new CallToolRequestParams { Name = tool, Arguments = ToArguments(arguments, tool) }, cancellationToken).ConfigureAwait(false);
            var json = ToJson(result);
            if (result.IsError == true)
            {
                throw new McpToolException($"tool '{tool}' on MCP server '{Name}' failed: {json["text"]?.GetValue<string>()}");
            }

            return json;
        }
        catch (McpProtocolException ex)
        {
            // The server answered, and said no: the call is wrong, not the server.
            throw new McpToolException($"tool '{tool}' on MCP server '{Name}' refused the call: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is not McpToolException && !cancellationToken.IsCancellationRequested)
        {
            // A health check that found the server mute closes its session under the call: say that, not "A task was canceled".
            Interlocked.Increment(ref _failures);
            var reason = Health == McpServerHealth.Unhealthy && LastError is { } known ? known : Describe(ex);
            MarkUnhealthy(reason);
            throw new McpServerUnavailableException($"MCP server '{Name}' failed during the call of '{tool}': {reason}", ex);
        }
        finally
        {
            Interlocked.Decrement(ref _outstanding);
        }
    }

    /// <summary>Takes the server out of rotation; the next health check restarts it.</summary>
    public void MarkUnhealthy(string reason)
    {
        LastError = reason;
        if (Health != McpServerHealth.Unhealthy)
        {
            _log.Warning("MCP server {McpServer} is unhealthy: {Reason}", Name, reason);
            SetHealth(McpServerHealth.Unhealthy);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            await CloseLockedAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task StartLockedAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await CloseLockedAsync().ConfigureAwait(false);
        McpClient? client = null;
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var connecting = McpClient.CreateAsync(CreateTransport(), new McpClientOptions
            {
                ClientInfo = new Implementation { Name = "orchestrator", Version = typeof(McpServerConnection).Assembly.GetName().Version?.ToString(3) ?? "0.0.0" },
            }, loggerFactory: null, limit.Token);
            try
            {
                client = await connecting.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                await limit.CancelAsync().ConfigureAwait(false);
                throw new McpServerUnavailableException($"MCP server '{Name}' did not answer within {timeout.TotalMilliseconds:0} ms of starting");
            }

            var tools = await client.ListToolsAsync(cancellationToken: cancellationToken).AsTask().WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
            Tools = [.. tools.Select(t => new McpToolInfo(
                t.Name, t.Description, t.JsonSchema, t.ProtocolTool.Annotations is { } hints && (hints.ReadOnlyHint == true || hints.IdempotentHint == true)))];
            _client = client;
            var starts = Interlocked.Increment(ref _starts);
            WatchForExit(client, Interlocked.Increment(ref _session));
            LastError = null;
            _log.Information("MCP server {McpServer} connected ({Transport}, start {Start}) with {ToolCount} tools", Name, Config.Transport, starts, Tools.Count);
            SetHealth(McpServerHealth.Healthy);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (client is not null)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }

            var reason = ex is McpServerUnavailableException ? ex.Message : $"MCP server '{Name}' ({Config.Source}) could not start '{Config.Target}': {Describe(ex)}";
            MarkUnhealthy(reason);
            throw new McpServerUnavailableException(reason, ex);
        }
    }

    /// <summary>A session that ends (the process died, the connection dropped) takes the server out of rotation at once.</summary>
    private void WatchForExit(McpClient client, int session) =>
        _ = client.Completion.ContinueWith(
            t =>
            {
                if (Volatile.Read(ref _session) == session && !_disposed)
                {
                    var detail = t.IsCompletedSuccessfully && t.Result is StdioClientCompletionDetails { ExitCode: { } code } ? $" (exit code {code})" : string.Empty;
                    MarkUnhealthy($"the session ended{detail}");
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    private async Task CloseLockedAsync()
    {
        var client = Interlocked.Exchange(ref _client, null);
        if (client is null)
        {
            return;
        }

        Interlocked.Increment(ref _session);
        try
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // A session that is already broken may fail to close; it is being replaced either way.
            _log.Debug(ex, "MCP server {McpServer}: closing the old session failed", Name);
        }
    }

    private IClientTransport CreateTransport() => Config.IsStdio
        ? new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = Name,
            Command = Config.Command!,
            Arguments = [.. Config.Args],
            WorkingDirectory = Config.WorkingDirectory,
            EnvironmentVariables = Config.Env.ToDictionary(p => p.Key, p => p.Value),
            ShutdownTimeout = TimeSpan.FromSeconds(2),
        })
        : new HttpClientTransport(new HttpClientTransportOptions
        {
            Name = Name,
            Endpoint = Config.Url!,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = Config.Headers.ToDictionary(p => p.Key, p => p.Value),
        });

    private void SetHealth(McpServerHealth health)
    {
        Health = health;
        HealthChanged?.Invoke(this);
    }

    private static Dictionary<string, JsonElement>? ToArguments(JsonNode? arguments, string tool) => arguments switch
    {
        null => null,
        JsonObject o => o.ToDictionary(p => p.Key, p => p.Value is null ? JsonSerializer.SerializeToElement<object?>(null) : JsonSerializer.SerializeToElement(p.Value)),
        _ => throw new McpToolException($"the arguments of tool '{tool}' must be an object, not {arguments.GetValueKind().ToString().ToLowerInvariant()}"),
    };

    /// <summary>A tool result as the journal keeps it: its text, its content blocks and any structured content.</summary>
    private JsonObject ToJson(CallToolResult result)
    {
        var text = string.Join("\n", result.Content.OfType<TextContentBlock>().Select(b => b.Text));
        var json = new JsonObject
        {
            ["server"] = Name,
            ["text"] = text,
            ["content"] = JsonSerializer.SerializeToNode(result.Content, McpJsonUtilities.DefaultOptions),
        };
        if (result.StructuredContent is { } structured)
        {
            json["structuredContent"] = JsonNode.Parse(structured.GetRawText());
        }

        return json;
    }

    private static string Describe(Exception ex)
    {
        var inner = ex;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        return inner == ex || ex.Message.Contains(inner.Message, StringComparison.Ordinal) ? ex.Message : $"{ex.Message} ({inner.Message})";
    }
}

/// <summary>A tool refused or failed a call: the call, not the server, is at fault, so it is not tried elsewhere.</summary>
internal sealed class McpToolException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A server could not be reached, started or used.</summary>
internal sealed class McpServerUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
