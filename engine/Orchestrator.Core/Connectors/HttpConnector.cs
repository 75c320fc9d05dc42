using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Connectors;

/// <summary>
/// An HTTP endpoint: a base URL, default headers (often a credential from <c>${secret:…}</c>), a timeout and a
/// health path. One <see cref="SocketsHttpHandler"/> and <see cref="HttpClient"/> per connector, for its whole
/// life, so calls reuse pooled connections.
/// </summary>
internal sealed class HttpConnector : IConnector
{
    private const int MaxResponseBytes = 32 * 1024 * 1024;

    private readonly HttpClient _client;
    private readonly string _baseUrl;
    private readonly IReadOnlyDictionary<string, string> _headers;
    private readonly TimeSpan _timeout;
    private readonly string _healthPath;
    private readonly TimeSpan _healthTimeout;
    private readonly TimeProvider _time;

    public HttpConnector(string name, ConnectorSpec spec, TimeProvider time)
    {
        spec.AllowOnly("type", "baseUrl", "headers", "timeoutMs", "health");
        var baseUrl = spec.RequiredString("baseUrl");
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ConnectorConfigException($"{spec.Where}: 'baseUrl' must be an absolute http:// or https:// URL");
        }

        var health = spec.Health();
        Name = name;
        _baseUrl = baseUrl.TrimEnd('/');
        _headers = spec.StringMap("headers");
        _timeout = spec.Milliseconds("timeoutMs", TimeSpan.FromSeconds(100));
        _healthPath = new ConnectorSpec(spec.Where + ".health", health).OptionalString("path") ?? "/";
        _healthTimeout = ConnectorSpec.Milliseconds(health, "timeoutMs", TimeSpan.FromSeconds(5), spec.Where + ".health");
        _time = time;
        Target = uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
        _client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AutomaticDecompression = DecompressionMethods.All })
        {
            Timeout = Timeout.InfiniteTimeSpan,
            MaxResponseContentBufferSize = MaxResponseBytes,
        };
    }

    public string Name { get; }

    public string Type => "http";

    public string Target { get; }

    /// <summary>Request: <c>{ method, path, query, headers, body }</c>; output: <c>{ status, headers, body, json? }</c>; a non-2xx status fails with the output kept.</summary>
    public async Task<JsonNode?> CallAsync(JsonNode? request, CancellationToken cancellationToken)
    {
        var spec = ConnectorSpec.From($"connector '{Name}' request", request);
        spec.AllowOnly("method", "path", "headers", "body", "timeoutMs");
        var method = HttpMethod.Parse((spec.OptionalString("method") ?? "GET").ToUpperInvariant());
        var path = spec.OptionalString("path") ?? "/";
        var what = $"{Name}: {method} {path}";
        using var message = new HttpRequestMessage(method, _baseUrl + "/" + path.TrimStart('/'));
        if (spec.Json["body"] is { } body)
        {
            message.Content = body.GetValueKind() == JsonValueKind.String
                ? new StringContent(body.GetValue<string>(), Encoding.UTF8, "text/plain")
                : new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        foreach (var (name, value) in _headers.Concat(spec.StringMap("headers")))
        {
            message.Headers.Remove(name);
            if (!message.Headers.TryAddWithoutValidation(name, value) && message.Content is not null)
            {
                message.Content.Headers.Remove(name);
                message.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(spec.Milliseconds("timeoutMs", _timeout));
        try
        {
            using var response = await _client.SendAsync(message, cts.Token).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false);
            var output = Output(response, text);
            return response.IsSuccessStatusCode
                ? output
                : throw new AgentFailedException($"{what} returned {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd(), output, Abstractions.Severity.Critical);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{what} timed out");
        }
        catch (HttpRequestException ex)
        {
            throw new HttpRequestException($"{what} failed: {ex.Message}", ex);
        }
    }

    public async Task<ConnectorHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_healthTimeout);
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Get, _baseUrl + "/" + _healthPath.TrimStart('/'));
            foreach (var (name, value) in _headers)
            {
                message.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await _client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
            var detail = $"GET {_healthPath} returned {(int)response.StatusCode}";
            return new ConnectorHealth(response.IsSuccessStatusCode, Elapsed(started), detail);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ConnectorHealth(false, Elapsed(started), $"GET {_healthPath} timed out after {_healthTimeout.TotalMilliseconds} ms");
        }
        catch (HttpRequestException ex)
        {
            return new ConnectorHealth(false, Elapsed(started), $"GET {_healthPath} failed: {ex.Message}");
        }
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    private double Elapsed(long started) => Math.Round(_time.GetElapsedTime(started).TotalMilliseconds, 3);

    private static JsonObject Output(HttpResponseMessage response, string text)
    {
        var headers = new JsonObject();
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            headers[name.ToLowerInvariant()] = string.Join(", ", values);
        }

        var output = new JsonObject { ["status"] = (int)response.StatusCode, ["headers"] = headers, ["body"] = text };
        if (response.Content.Headers.ContentType?.MediaType is { } media && (media.EndsWith("/json", StringComparison.OrdinalIgnoreCase) || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
        {
            try
            {
                output["json"] = JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                // Labelled JSON but not: the text is still there.
            }
        }

        return output;
    }
}
