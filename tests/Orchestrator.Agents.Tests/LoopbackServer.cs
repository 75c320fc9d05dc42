using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Agents.Tests;

/// <summary>What the loopback server saw of one request.</summary>
internal sealed record SeenRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, string Body)
{
    /// <summary>The client's port: requests that share it came over one pooled connection.</summary>
    public int ClientPort { get; init; }
}

/// <summary>
/// A real HTTP server on 127.0.0.1 and a free port, answering with a handler the test supplies,
/// and recording each request it received.
/// </summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly Func<HttpListenerContext, SeenRequest, Task> _handler;
    private readonly Task _loop;
    private readonly ConcurrentQueue<SeenRequest> _seen = new();

    // Released at disposal so that handlers that hold a response back (timeouts, cancellation) finish.
    private readonly TaskCompletionSource _stopping = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public LoopbackServer(Func<HttpListenerContext, SeenRequest, Task> handler)
    {
        _handler = handler;
        (_listener, BaseUrl) = Listen();
        _loop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public string BaseUrl { get; }

    public IReadOnlyList<SeenRequest> Seen => [.. _seen];

    /// <summary>Completes when the server is being disposed.</summary>
    public Task Stopping => _stopping.Task;

    /// <summary>A loopback port that nothing listens on (bound, then released).</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public static async Task Respond(HttpListenerContext context, int status, string body, string contentType = "text/plain; charset=utf-8")
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        var bytes = System.Text.Encoding.UTF8.GetBytes(body);
        context.Response.ContentLength64 = bytes.Length;
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.TrySetResult();

        // Close alone: Stop first would drop the port's endpoint, and Close would then bind the port again to remove
        // its prefix, failing with "address already in use" when another test has taken the port meanwhile.
        try
        {
            _listener.Close();
        }
        catch (HttpListenerException)
        {
            // The listener is closed either way; what failed is only the bookkeeping of a port now someone else's.
        }

        await _loop;
    }

    private static (HttpListener Listener, string BaseUrl) Listen()
    {
        // The free port can be taken between probing and listening; a few attempts make that race harmless.
        for (var attempt = 1; ; attempt++)
        {
            var url = $"http://127.0.0.1:{FreePort()}/";
            var listener = new HttpListener();
            listener.Prefixes.Add(url);
            try
            {
                listener.Start();
                return (listener, url);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return; // stopped
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        try
        {
            using var reader = new StreamReader(context.Request.InputStream, context.Request.ContentEncoding);
            var body = await reader.ReadToEndAsync();
            var headers = context.Request.Headers.AllKeys
                .Where(k => k is not null)
                .ToDictionary(k => k!, k => context.Request.Headers[k]!, StringComparer.OrdinalIgnoreCase);
            var seen = new SeenRequest(context.Request.HttpMethod, context.Request.Url!.PathAndQuery, headers, body) { ClientPort = context.Request.RemoteEndPoint.Port };
            _seen.Enqueue(seen);
            await _handler(context, seen);
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or IOException or InvalidOperationException)
        {
            // The client went away (timeout, cancellation) or the server stopped: nothing to answer.
        }
    }
}
