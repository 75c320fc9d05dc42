using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Cli.Host;
using Orchestrator.Cli.Progress;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Runs;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Cli.Commands.Run;

/// <summary>
/// <c>run</c> and <c>resume</c> through a running host (<c>orchestrator serve</c>): submit, follow the run's events
/// into the same live progress, print the same result and return the same exit code; Ctrl+C cancels the run on the
/// host. Only a socket is opened: no store, plugins, compiler or HttpClient in this process (see <see cref="HostHttp"/>).
/// </summary>
internal sealed class RemoteRun(HostHttp client, bool explicitHost)
{
    public const string HostVariable = "ORCHESTRATOR_HOST";
    public const string TokenVariable = "ORCHESTRATOR_TOKEN";

    /// <summary>
    /// The host to use: <c>--host</c>, else <c>ORCHESTRATOR_HOST</c>, else the live host named in the store's host file;
    /// none with <c>--no-host</c>, or when the request needs what only an in-process run has (its own plugins, say).
    /// </summary>
    public static Option<string?> HostOption() => new("--host")
    {
        Description = $"Submit to the host (orchestrator serve) at this URL; by default {HostVariable}, else the live host named in the store's host.json.",
    };

    public static Option<bool> NoHostOption() => new("--no-host")
    {
        Description = "Run in this process even when a host serves the store.",
    };

    public static RemoteRun? Find(string store, string? hostOption, bool noHost, bool inProcessOnly)
    {
        if (noHost)
        {
            return null;
        }

        var file = HostFile.Read(Hosting.StoreLocation.Folder(store));
        var named = hostOption ?? Environment.GetEnvironmentVariable(HostVariable);
        if (named is null && (inProcessOnly || file is null || !Core.Journal.ProcessLiveness.IsAlive(file.Pid)))
        {
            return null;
        }

        var url = named ?? file!.Url;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new CliException($"--host: '{url}' is not an absolute URL");
        }

        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new CliException($"--host: '{uri.GetLeftPart(UriPartial.Authority)}' is not an http:// or https:// URL");
        }

        var token = Environment.GetEnvironmentVariable(TokenVariable) ?? file?.Token;
        return new RemoteRun(new HostHttp(uri, token), named is not null);
    }

    /// <summary>
    /// Runs the script on the host, which renders what this command prints (<see cref="HostConsole"/>): the same live
    /// progress, lines and exit code as in-process. Null when an implicit host cannot take it (then it runs here).
    /// </summary>
    public Task<int?> RunAsync(CliConsole console, string scriptPath, (string? Text, string Source) input, bool json, bool quiet, CancellationToken cancellationToken) =>
        ConsoleAsync(console, "/api/console/run", new JsonObject { ["script"] = scriptPath, ["input"] = input.Text, ["inputSource"] = input.Source }, json, quiet, cancellationToken);

    /// <summary>Resumes the run on the host, which renders what this command prints; null when an implicit host cannot take it.</summary>
    public Task<int?> ResumeAsync(CliConsole console, string runId, bool force, bool json, bool quiet, CancellationToken cancellationToken) =>
        ConsoleAsync(console, "/api/console/resume", new JsonObject { ["runId"] = runId, ["force"] = force }, json, quiet, cancellationToken);

    /// <summary>
    /// Submits the script and waits for the run's end (cancelling <paramref name="cancellationToken"/> cancels it on the
    /// host); null when an implicit host cannot take it.
    /// </summary>
    public async Task<RunOutcome?> RunToEndAsync(string scriptPath, JsonNode? input, CancellationToken cancellationToken)
    {
        // The requests block on the socket: the caller gets this task first, since its cancellation waits on it.
        await Task.Yield();
        JsonNode body;
        using (var response = Post("/api/runs", new JsonObject { ["script"] = scriptPath, ["input"] = input?.DeepClone() }))
        {
            if (response is null)
            {
                return null;
            }

            body = Read(response);
        }

        return await EndOfAsync(body["id"]!.GetValue<string>(), cancellationToken);
    }

    private async Task<int?> ConsoleAsync(CliConsole console, string path, JsonObject request, bool json, bool quiet, CancellationToken cancellationToken)
    {
        // The submission is not cancelled half-way: Ctrl+C cancels the run on the host once it has an id, and the
        // command line gets this task first, since its Ctrl+C handling waits on it.
        await Task.Yield();
        request["json"] = json;
        request["quiet"] = quiet;
        request["terminal"] = ReferenceEquals(console.Out, Console.Out) && !Console.IsOutputRedirected ? ClientTerminal.OfThisProcess().ToJson() : null;
        using var response = Post(path, request);
        if (response is null)
        {
            return null;
        }

        if (response.Status == HttpStatusCode.NotFound)
        {
            // A host of an earlier version, which renders nothing for clients: it started nothing either.
            return explicitHost
                ? throw new CliException($"the host at {client.BaseAddress} does not run commands for clients (an earlier orchestrator serve?); restart it with this version, or use --no-host")
                : null;
        }

        if (!response.IsSuccess)
        {
            Read(response);
        }

        string? runId = null;
        CancellationTokenRegistration cancelling = default;
        try
        {
            if (ConsoleFrames.Relay(response.Body, console.Out, console.ErrorWriter, id => (runId, cancelling) = (id, cancellationToken.Register(() => Cancel(id)))) is { } exitCode)
            {
                return exitCode;
            }
        }
        finally
        {
            await cancelling.DisposeAsync();
        }

        throw new CliException(ConsoleFrames.BrokenOff(client.BaseAddress, runId), ExitCodes.Failed);
    }

    /// <summary>
    /// Tells the host that a decision or an event for the run was stored, so that it continues a run it can; false when
    /// no host took it (then the run waits for a resume).
    /// </summary>
    public bool Wake(string runId)
    {
        using var response = Post($"/api/runs/{Uri.EscapeDataString(runId)}/wake", []);
        return response is { IsSuccess: true } && Read(response)["resumed"]?.GetValue<bool>() == true;
    }

    /// <summary>GETs <paramref name="path"/> from the host; null when a host found by its file cannot be reached (it went away since).</summary>
    public JsonNode? Get(string path)
    {
        HostResponse response;
        try
        {
            response = client.Send("GET", path);
        }
        catch (HostUnreachableException ex)
        {
            return explicitHost ? throw new CliException($"cannot reach the host at {client.BaseAddress}: {ex.Message}") : null;
        }

        using (response)
        {
            return Read(response);
        }
    }

    /// <summary>
    /// The host's response; null when a host found by its file cannot take the request (it went away since, or the
    /// script lies outside its scripts folder), so that this process runs it instead.
    /// </summary>
    private HostResponse? Post(string path, JsonObject body)
    {
        HostResponse response;
        try
        {
            response = client.Send("POST", path, body.ToJsonString());
        }
        catch (HostUnreachableException ex)
        {
            return explicitHost ? throw new CliException($"cannot reach the host at {client.BaseAddress}: {ex.Message}") : null;
        }

        if (response.Status == HttpStatusCode.Forbidden && !explicitHost)
        {
            response.Dispose();
            return null;
        }

        return response;
    }

    /// <summary>Follows the run's events to its end; Ctrl+C cancels it on the host, whose end the events then carry.</summary>
    private async Task<RunOutcome> EndOfAsync(string runId, CancellationToken cancellationToken)
    {
        await using var cancelling = cancellationToken.Register(() => Cancel(runId));
        using var response = Events(runId);
        if (!response.IsSuccess)
        {
            Read(response);
        }

        string? name = null;
        while (ReadLine(response.Body) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line["event: ".Length..];
            }
            else if (name == "end" && line.StartsWith("data: ", StringComparison.Ordinal))
            {
                return ToOutcome(JsonNode.Parse(line["data: ".Length..])!);
            }
        }

        throw new CliException($"the host at {client.BaseAddress} closed run {runId}'s events before its end; see 'orchestrator runs show {runId}'", ExitCodes.Failed);
    }

    /// <summary>Asks the host to cancel the run; it goes on to its journaled end, which the events then carry.</summary>
    private void Cancel(string runId)
    {
        try
        {
            using var _ = client.Send("POST", $"/api/runs/{Uri.EscapeDataString(runId)}/cancel");
        }
        catch (HostUnreachableException)
        {
            // The event stream breaks too, and says so.
        }
    }

    /// <summary>The run's events; an unreachable host is an error, said in one line.</summary>
    private HostResponse Events(string runId)
    {
        try
        {
            return client.Send("GET", $"/api/runs/{Uri.EscapeDataString(runId)}/events");
        }
        catch (HostUnreachableException ex)
        {
            throw new CliException($"cannot reach the host at {client.BaseAddress}: {ex.Message}", ExitCodes.Failed);
        }
    }

    private static string? ReadLine(StreamReader reader)
    {
        try
        {
            return reader.ReadLine();
        }
        catch (IOException)
        {
            // A broken stream is a stream that ended early: said by the caller, with where to look.
            return null;
        }
    }

    /// <summary>The host's answer, or its one-line refusal as bad input (a script that does not compile, a refused resume).</summary>
    private static JsonNode Read(HostResponse response)
    {
        var text = response.Body.ReadToEnd();
        JsonNode? body = null;
        try
        {
            body = JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            // Not ours: said below with the status.
        }

        if (!response.IsSuccess)
        {
            throw response.Status == HttpStatusCode.Unauthorized
                ? new CliException($"the host at {response.Host} wants its token: set {TokenVariable}, or use --no-host")
                : new CliException(body?["error"]?.GetValue<string>() ?? $"the host answered {(int)response.Status}: {text}");
        }

        return body ?? throw new CliException($"the host answered {(int)response.Status} without JSON");
    }

    /// <summary>The end event as the outcome <see cref="RunOutput"/> prints.</summary>
    private static RunOutcome ToOutcome(JsonNode end) => RunOutput.FromEnd(new RunEnd(
        end["runId"]!.GetValue<string>(),
        Enum.Parse<RunStatus>(end["status"]!.GetValue<string>(), ignoreCase: true),
        end["error"]?.GetValue<string>(),
        end["result"]?.DeepClone(),
        end["steps"]!.GetValue<int>(),
        null,
        end["durationMs"]?.GetValue<double>(),
        end["report"]?.GetValue<string>()));
}
