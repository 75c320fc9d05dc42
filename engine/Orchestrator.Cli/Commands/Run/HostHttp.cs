using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace Orchestrator.Cli.Commands.Run;

/// <summary>
/// The few requests the CLI makes of a host, as HTTP/1.0 over a socket (TLS for <c>https</c>), one connection each:
/// the host answers without chunking and the body is what follows the headers until it closes. Not HttpClient, and
/// blocking rather than async: in a process that makes two requests and exits, HttpClient's first request loads and
/// compiles more (the handler pipeline, TLS, name resolution, its metrics) than the run on the host takes, and each
/// async method costs its state machine's JIT; see docs/design/performance.md.
/// </summary>
internal sealed class HostHttp(Uri baseAddress, string? token)
{
    public Uri BaseAddress => baseAddress;

    /// <summary>Sends a request with an optional JSON body; the response is open until disposed.</summary>
    /// <exception cref="HostUnreachableException">The host could not be reached or closed the connection before answering.</exception>
    public HostResponse Send(string method, string path, string? json = null, string? lastEventId = null)
    {
        var target = new Uri(baseAddress, path);
        Stream? stream = null;
        try
        {
            stream = Connect(target);
            var body = json is null ? [] : Encoding.UTF8.GetBytes(json);
            var head = new StringBuilder()
                .Append(method).Append(' ').Append(target.PathAndQuery).Append(" HTTP/1.0\r\n")
                .Append("Host: ").Append(target.Authority).Append("\r\n")
                .Append("Accept: application/json, text/event-stream\r\n");
            if (token is not null)
            {
                head.Append("Authorization: Bearer ").Append(token).Append("\r\n");
            }

            if (lastEventId is not null)
            {
                head.Append("Last-Event-ID: ").Append(lastEventId).Append("\r\n");
            }

            if (json is not null)
            {
                head.Append("Content-Type: application/json; charset=utf-8\r\n");
            }

            head.Append("Content-Length: ").Append(body.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\n\r\n");
            stream.Write(Encoding.ASCII.GetBytes(head.ToString()));
            stream.Write(body);
            stream.Flush();

            var reader = new StreamReader(stream, Encoding.UTF8);
            var status = ParseStatus(reader.ReadLine(), target);
            while (reader.ReadLine() is { Length: > 0 })
            {
                // The headers: nothing the CLI needs beyond the status (the body runs until the host closes).
            }

            return new HostResponse(status, target, reader);
        }
        catch (Exception ex) when (ex is SocketException or IOException or AuthenticationException)
        {
            stream?.Dispose();
            throw new HostUnreachableException(ex.Message, ex);
        }
        catch
        {
            stream?.Dispose();
            throw;
        }
    }

    private static Stream Connect(Uri target)
    {
        // An address in the URL needs no name resolution, which would load and start more than the request itself.
        EndPoint endpoint = IPAddress.TryParse(target.IdnHost, out var address) ? new IPEndPoint(address, target.Port) : new DnsEndPoint(target.IdnHost, target.Port);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Connect(endpoint);
            var stream = new NetworkStream(socket, ownsSocket: true);
            return target.Scheme == Uri.UriSchemeHttp ? stream : Secure(stream, target);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>TLS over the connection: a method of its own, so that a plain http:// request never loads TLS and cryptography.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static SslStream Secure(NetworkStream stream, Uri target)
    {
        var tls = new SslStream(stream, leaveInnerStreamOpen: false);
        tls.AuthenticateAsClient(new SslClientAuthenticationOptions { TargetHost = target.IdnHost });
        return tls;
    }

    private static HttpStatusCode ParseStatus(string? line, Uri target)
    {
        // "HTTP/1.1 202 Accepted"
        var parts = line?.Split(' ', 3);
        return parts is { Length: >= 2 } && parts[0].StartsWith("HTTP/", StringComparison.Ordinal)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var code)
            ? (HttpStatusCode)code
            : throw new HostUnreachableException($"{target.GetLeftPart(UriPartial.Authority)} did not answer in HTTP" + (line is null ? " (it closed the connection)" : $": {line}"));
    }
}

/// <summary>A host's answer: its status, and its body as text until the host closes the connection.</summary>
internal sealed class HostResponse(HttpStatusCode status, Uri target, StreamReader body) : IDisposable
{
    public HttpStatusCode Status => status;

    public bool IsSuccess => (int)status is >= 200 and < 300;

    /// <summary>The host the request went to, for messages: <c>http://127.0.0.1:5000</c>.</summary>
    public string Host => target.GetLeftPart(UriPartial.Authority);

    public StreamReader Body => body;

    public void Dispose() => body.Dispose();
}

/// <summary>The host could not be reached, or the connection broke before it answered.</summary>
internal sealed class HostUnreachableException(string message, Exception? inner = null) : Exception(message, inner);
