using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.Cli;
using Orchestrator.Cli.Host;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Host;

/// <summary>A real host (Kestrel on a free loopback port) over a scratch store and scripts folder, and an HTTP client with its token.</summary>
internal sealed class HostHarness : IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private HostServer? _server;

    private HostHarness(TempDirectory dir, HostServer server)
    {
        _dir = dir;
        _server = server;
        Client = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromMinutes(2) };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.Token);
    }

    public HttpClient Client { get; }

    public HostServer Server => _server ?? throw new InvalidOperationException("The host has stopped.");

    public string ScriptsDirectory => Path.Combine(_dir.Path, "scripts");

    public string StoreDirectory => Path.Combine(_dir.Path, "store");

    public static async Task<HostHarness> StartAsync(string? token = null)
    {
        var dir = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(dir.Path, "scripts"));
        var settings = new HostSettings(Path.Combine(dir.Path, "store"), ["http://127.0.0.1:0"], Path.Combine(dir.Path, "scripts"), []) { Token = token };
        var server = await HostServer.StartAsync(settings, new CliConsole(TextWriter.Null, TextWriter.Null), CancellationToken.None);
        return new HostHarness(dir, server);
    }

    /// <summary>Writes a script under the scripts folder and returns its full path.</summary>
    public string WriteScript(string name, string text) => _dir.Write(Path.Combine("scripts", name), text);

    /// <summary>Writes a file outside the scripts folder.</summary>
    public string WriteOutside(string name, string text) => _dir.Write(Path.Combine("outside", name), text);

    public async Task<JsonNode> SubmitAsync(string script, JsonNode? input = null)
    {
        using var response = await Client.PostAsJsonAsync("/api/runs", new JsonObject { ["script"] = script, ["input"] = input });
        var body = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).Should().Be(202, body);
        return JsonNode.Parse(body)!;
    }

    public async Task<JsonNode> GetJsonAsync(string path)
    {
        using var response = await Client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.Should().BeTrue(body);
        return JsonNode.Parse(body)!;
    }

    /// <summary>Reads a run's event stream to its end.</summary>
    public Task<IReadOnlyList<SseEvent>> EventsAsync(string runId, Func<SseEvent, Task>? onEvent = null) => SseEvent.ReadAllAsync(Client, $"/api/runs/{runId}/events", onEvent);

    /// <summary>Follows a run's events until step <paramref name="stepId"/> has started.</summary>
    public async Task EventsUntilAsync(string runId, string stepId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runs/{runId}/events");
        using var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal) && JsonNode.Parse(line[6..])!["stepId"]?.GetValue<string>() == stepId)
            {
                return;
            }
        }

        throw new InvalidOperationException($"run {runId} ended before step {stepId} started");
    }

    /// <summary>Stops the host as Ctrl+C would: runs in flight are cancelled and journaled as such.</summary>
    public async Task StopAsync()
    {
        if (_server is { } server)
        {
            _server = null;
            await server.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Client.Dispose();
        _dir.Dispose();
    }
}

/// <summary>One server-sent event.</summary>
internal sealed record SseEvent(string? Id, string Event, JsonNode Data)
{
    public static async Task<IReadOnlyList<SseEvent>> ReadAllAsync(HttpClient client, string path, Func<SseEvent, Task>? onEvent = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/event-stream");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<SseEvent>();
        string? id = null, name = null, data = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0)
            {
                if (data is not null)
                {
                    var e = new SseEvent(id, name ?? "message", JsonNode.Parse(data)!);
                    events.Add(e);
                    if (onEvent is not null)
                    {
                        await onEvent(e);
                    }
                }

                id = name = data = null;
                continue;
            }

            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart();
            switch (field)
            {
                case "id": id = value; break;
                case "event": name = value; break;
                case "data": data = data is null ? value : data + "\n" + value; break;
            }
        }

        return events;
    }
}
