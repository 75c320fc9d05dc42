using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Agents.Http;

/// <summary>Input to the http agent was malformed; the message names the field, never a header value.</summary>
internal sealed class HttpInputException(string message) : Exception(message);

/// <summary>A validated http agent input.</summary>
internal sealed class HttpRequestSpec
{
    private const string TokenSymbols = "!#$%&'*+-.^_`|~";

    private HttpRequestSpec(HttpMethod method, Uri url)
    {
        Method = method;
        Url = url;
    }

    public HttpMethod Method { get; }

    public Uri Url { get; }

    /// <summary>The URL as messages show it: without user:password and fragment.</summary>
    public string DisplayUrl => Url.GetComponents(UriComponents.HttpRequestUrl, UriFormat.UriEscaped);

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; private init; } = [];

    /// <summary>The body as text plus its default media type; null when there is no body.</summary>
    public (string Text, string MediaType)? Body { get; private init; }

    public TimeSpan Timeout { get; private init; }

    /// <summary>The timeout in milliseconds, as messages show it.</summary>
    public string TimeoutMs { get; private init; } = "";

    public static HttpRequestSpec Parse(JsonNode? input, TimeSpan defaultTimeout)
    {
        if (input is not JsonObject obj)
        {
            throw new HttpInputException("input must be a JSON object with a 'url'.");
        }

        var urlText = OptionalString(obj, "url") ?? throw new HttpInputException("'url' is required.");
        if (!Uri.TryCreate(urlText, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw new HttpInputException("'url' must be an absolute http:// or https:// URL.");
        }

        var (timeout, timeoutText) = ReadTimeout(obj, defaultTimeout);
        return new HttpRequestSpec(ReadMethod(obj), url)
        {
            Headers = ReadHeaders(obj),
            Body = ReadBody(obj),
            Timeout = timeout,
            TimeoutMs = timeoutText,
        };
    }

    private static HttpMethod ReadMethod(JsonObject obj)
    {
        var method = OptionalString(obj, "method");
        if (method is null)
        {
            return HttpMethod.Get;
        }

        // An HTTP method is a token; checking here gives a clear error instead of a FormatException later.
        if (method.Length == 0 || !method.All(c => char.IsAsciiLetterOrDigit(c) || TokenSymbols.Contains(c, StringComparison.Ordinal)))
        {
            throw new HttpInputException("'method' must be an HTTP method such as GET or POST.");
        }

        return HttpMethod.Parse(method.ToUpperInvariant());
    }

    // Names only in messages: values such as Authorization are often secrets.
    private static List<KeyValuePair<string, string>> ReadHeaders(JsonObject obj)
    {
        var headers = new List<KeyValuePair<string, string>>();
        if (!obj.TryGetPropertyValue("headers", out var node) || node is null)
        {
            return headers;
        }

        if (node is not JsonObject map)
        {
            throw new HttpInputException("'headers' must be an object of string values.");
        }

        foreach (var (name, value) in map)
        {
            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || TokenSymbols.Contains(c, StringComparison.Ordinal)))
            {
                throw new HttpInputException("'headers' has an invalid header name.");
            }

            if (value is null || value.GetValueKind() != JsonValueKind.String)
            {
                throw new HttpInputException($"header '{name}' must have a string value.");
            }

            var text = value.GetValue<string>();
            if (text.Contains('\r', StringComparison.Ordinal) || text.Contains('\n', StringComparison.Ordinal) || text.Contains('\0', StringComparison.Ordinal))
            {
                // Would let a value smuggle extra headers into the request.
                throw new HttpInputException($"header '{name}' must not contain line breaks or NUL.");
            }

            headers.Add(new(name, text));
        }

        return headers;
    }

    private static (string Text, string MediaType)? ReadBody(JsonObject obj)
    {
        if (!obj.TryGetPropertyValue("body", out var node) || node is null)
        {
            return null;
        }

        // A string is sent as it is; any other JSON value is serialised and sent as JSON.
        return node.GetValueKind() == JsonValueKind.String
            ? (node.GetValue<string>(), "text/plain")
            : (node.ToJsonString(), "application/json");
    }

    private static (TimeSpan Timeout, string Text) ReadTimeout(JsonObject obj, TimeSpan defaultTimeout)
    {
        if (!obj.TryGetPropertyValue("timeoutMs", out var node) || node is null)
        {
            return (defaultTimeout, defaultTimeout.TotalMilliseconds.ToString(CultureInfo.InvariantCulture));
        }

        if (node.GetValueKind() != JsonValueKind.Number)
        {
            throw new HttpInputException("'timeoutMs' must be a number of milliseconds.");
        }

        // Round-tripping through the JSON text reads any numeric representation (int, long, double, element).
        var ms = double.Parse(node.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
        if (!(ms >= 1 && ms <= int.MaxValue))
        {
            throw new HttpInputException($"'timeoutMs' must be between 1 and {int.MaxValue}.");
        }

        return (TimeSpan.FromMilliseconds(ms), ms.ToString("0.###", CultureInfo.InvariantCulture));
    }

    private static string? OptionalString(JsonObject obj, string name)
    {
        if (!obj.TryGetPropertyValue(name, out var node) || node is null)
        {
            return null;
        }

        if (node.GetValueKind() != JsonValueKind.String)
        {
            throw new HttpInputException($"'{name}' must be a string.");
        }

        return node.GetValue<string>();
    }

    /// <summary>Builds the request message; content headers (Content-Type...) go on the content.</summary>
    public HttpRequestMessage ToMessage()
    {
        var message = new HttpRequestMessage(Method, Url);
        if (Body is { } body)
        {
            message.Content = new StringContent(body.Text, Encoding.UTF8, body.MediaType);
        }

        try
        {
            foreach (var (name, value) in Headers)
            {
                if (message.Headers.TryAddWithoutValidation(name, value))
                {
                    continue;
                }

                // Not a request header, so a content header: a bodyless request still gets an empty content to carry it.
                message.Content ??= new ByteArrayContent([]);
                message.Content.Headers.Remove(name);
                if (!message.Content.Headers.TryAddWithoutValidation(name, value))
                {
                    throw new HttpInputException($"header '{name}' cannot be set on a request.");
                }
            }

            return message;
        }
        catch
        {
            message.Dispose();
            throw;
        }
    }
}
