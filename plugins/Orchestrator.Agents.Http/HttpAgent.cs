using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace Orchestrator.Agents.Http;

/// <summary>
/// Sends one HTTP request and reports status, headers and body (parsed too when it is JSON).
/// Stateless apart from the shared client, so one instance can serve concurrent runs.
/// </summary>
public sealed class HttpAgent : IAgent
{
    /// <summary>Used when the input has no timeoutMs; the same as HttpClient's own default.</summary>
    internal static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(100);

    // Responses are buffered whole; the cap keeps a huge download from exhausting the host's memory.
    private const int MaxResponseBytes = 32 * 1024 * 1024;

    // One client for the whole process so connections are pooled and sockets are not exhausted;
    // PooledConnectionLifetime retires connections so DNS changes are picked up.
    private static readonly HttpClient Client = CreateClient();

    public string Kind => "http";

    /// <summary><c>http-request</c>: sends one HTTP request.</summary>
    public IReadOnlyCollection<string> Capabilities { get; } = ["http-request"];

    /// <summary>One circuit per host: a server that is down does not cut off the others.</summary>
    public string? TargetOf(AgentTask task) =>
        task.Input is JsonObject o && o["url"] is JsonValue v && v.TryGetValue<string>(out var url)
            && Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.Authority : null;

    public async ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();

        HttpRequestSpec spec;
        HttpRequestMessage message;
        try
        {
            spec = HttpRequestSpec.Parse(task.Input, DefaultTimeout);
            message = spec.ToMessage();
        }
        catch (HttpInputException ex)
        {
            return AgentResult.Fail("http: " + ex.Message);
        }

        var what = $"{spec.Method} {spec.DisplayUrl}";

        // The caller's token and the timeout share one source; which of them fired is told apart below.
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(spec.Timeout);

        var started = TimeProvider.System.GetTimestamp();
        try
        {
            using (message)
            using (var response = await Client.SendAsync(message, HttpCompletionOption.ResponseContentRead, cts.Token))
            {
                var body = await response.Content.ReadAsStringAsync(cts.Token);
                var output = BuildOutput(response, body, started);
                if (response.IsSuccessStatusCode)
                {
                    return AgentResult.Ok(output);
                }

                var status = (int)response.StatusCode;
                var reason = string.IsNullOrWhiteSpace(response.ReasonPhrase) ? "" : " " + response.ReasonPhrase;
                return AgentResult.Fail($"{what} returned {status}{reason}", output);
            }
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            // Re-thrown on the caller's own token so that it recognises its cancellation.
            throw new OperationCanceledException($"{what} was cancelled.", ex, cancellationToken);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return AgentResult.Fail($"{what} timed out after {spec.TimeoutMs} ms");
        }
        catch (HttpRequestException ex)
        {
            // Connection refused, DNS failure, TLS error, response too large...: the message names no header value.
            return AgentResult.Fail($"{what} failed: {ex.Message}");
        }
    }

    private static HttpClient CreateClient()
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            AutomaticDecompression = DecompressionMethods.All,
        };

        var client = new HttpClient(handler, disposeHandler: true)
        {
            // Timeouts are per request (timeoutMs), enforced with a CancellationTokenSource.
            Timeout = Timeout.InfiniteTimeSpan,
            MaxResponseContentBufferSize = MaxResponseBytes,
        };

        // Some APIs refuse requests without a User-Agent; a header from the input replaces this one.
        client.DefaultRequestHeaders.UserAgent.ParseAdd("OrchestratorEngine-HttpAgent/1.0");
        return client;
    }

    private static JsonObject BuildOutput(HttpResponseMessage response, string body, long started)
    {
        // Lower-case names, since HTTP header names are case-insensitive and scripts need one spelling to look up.
        var headers = new JsonObject();
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            headers[name.ToLowerInvariant()] = string.Join(", ", values);
        }

        var output = new JsonObject
        {
            ["status"] = (int)response.StatusCode,
            ["headers"] = headers,
            ["body"] = body,
        };

        if (IsJson(response.Content.Headers.ContentType?.MediaType) && TryParseJson(body) is { } json)
        {
            output["json"] = json;
        }

        output["durationMs"] = Math.Round(TimeProvider.System.GetElapsedTime(started).TotalMilliseconds, 3);
        return output;
    }

    private static bool IsJson(string? mediaType) =>
        mediaType is not null
        && (mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    /// <summary>A body labelled JSON that does not parse is still returned as text; only "json" is left out.</summary>
    private static JsonNode? TryParseJson(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
