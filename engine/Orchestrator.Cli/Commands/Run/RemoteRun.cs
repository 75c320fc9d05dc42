using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Cli.Host;
using Orchestrator.Cli.Progress;
using Orchestrator.Core.Journal;
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
        if (named is null && (inProcessOnly || file is null || !Core.Journal.RunLiveness.IsProcessAlive(file.Pid)))
        {
            return null;
        }

        var url = named ?? file!.Url;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new CliException($"--host: '{url}' is not an absolute URL");
        }

        var token = Environment.GetEnvironmentVariable(TokenVariable) ?? file?.Token;
        return new RemoteRun(new HostHttp(uri, token), named is not null);
    }

    /// <summary>Submits the script and follows it; null when an implicit host cannot take it (then the run goes in-process).</summary>
    public async Task<int?> RunAsync(CliConsole console, string scriptPath, JsonNode? input, bool json, bool quiet, CancellationToken cancellationToken) =>
        await RunToEndAsync(scriptPath, input, () => RunProgress.For(console, json, quiet), cancellationToken) is { } outcome ? RunOutput.Report(console, outcome, json, quiet) : null;

    /// <summary>
    /// Submits the script and waits for the run's end (cancelling <paramref name="cancellationToken"/> cancels it on the
    /// host); null when an implicit host cannot take it. <paramref name="progress"/> is made once the host took the run.
    /// </summary>
    public Task<RunOutcome?> RunToEndAsync(string scriptPath, JsonNode? input, Func<RunProgress?> progress, CancellationToken cancellationToken) =>
        SubmitAsync("/api/runs", new JsonObject { ["script"] = scriptPath, ["input"] = input?.DeepClone() }, body => body["id"]!.GetValue<string>(), _ => 0, progress, cancellationToken);

    /// <summary>Resumes the run on the host and follows what this attempt adds; null when an implicit host cannot take it.</summary>
    public async Task<int?> ResumeAsync(CliConsole console, string runId, bool force, bool json, bool quiet, CancellationToken cancellationToken) =>
        await SubmitAsync($"/api/runs/{Uri.EscapeDataString(runId)}/resume", new JsonObject { ["force"] = force }, _ => runId, body => body["afterSeq"]?.GetValue<long>() ?? 0, () => RunProgress.For(console, json, quiet), cancellationToken) is { } outcome
            ? RunOutput.Report(console, outcome, json, quiet)
            : null;

    private async Task<RunOutcome?> SubmitAsync(string path, JsonObject request, Func<JsonNode, string> runIdOf, Func<JsonNode, long> afterSeqOf, Func<RunProgress?> progress, CancellationToken cancellationToken)
    {
        // The requests block on the socket: the command line gets this task first, since its Ctrl+C handling waits on it.
        // The submission is not cancelled half-way: Ctrl+C during it cancels the run on the host once it has an id.
        await Task.Yield();
        JsonNode body;
        using (var response = Post(path, request))
        {
            if (response is null)
            {
                return null;
            }

            body = Read(response);
        }

        return await FollowAsync(runIdOf(body), afterSeqOf(body), progress, cancellationToken);
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

    private async Task<RunOutcome> FollowAsync(string runId, long afterSeq, Func<RunProgress?> progressFor, CancellationToken cancellationToken)
    {
        // Ctrl+C cancels the run on the host; the stream then carries it to its journaled end, as in-process.
        await using var cancelling = cancellationToken.Register(() => Cancel(runId));
        JsonNode? end = null;
        await using (var progress = progressFor())
        {
            using var response = Events(runId, afterSeq);
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
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    var data = JsonNode.Parse(line["data: ".Length..])!;
                    if (name == "end")
                    {
                        end = data;
                        break;
                    }

                    progress?.Observe(ToEntry(data));
                }
            }
        }

        if (end is null)
        {
            throw new CliException($"the host at {client.BaseAddress} closed run {runId}'s events before its end; see 'orchestrator runs show {runId}'", ExitCodes.Failed);
        }

        return ToOutcome(end);
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

    /// <summary>The run's events from after <paramref name="afterSeq"/>; an unreachable host is an error, said in one line.</summary>
    private HostResponse Events(string runId, long afterSeq)
    {
        try
        {
            return client.Send("GET", $"/api/runs/{Uri.EscapeDataString(runId)}/events", lastEventId: afterSeq.ToString(CultureInfo.InvariantCulture));
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
            // A broken stream is a stream that ended early: said below, with where to look.
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

    private static JournalEntry ToEntry(JsonNode e) => new(
        e["runId"]!.GetValue<string>(),
        e["seq"]!.GetValue<long>(),
        e["stepId"]!.GetValue<string>(),
        Enum.Parse<StepEvent>(e["event"]!.GetValue<string>(), ignoreCase: true),
        e["parentId"]?.GetValue<string>(),
        e["name"]!.GetValue<string>(),
        e["kind"]!.GetValue<string>(),
        e["agent"]?.GetValue<string>(),
        e["attempt"]!.GetValue<int>(),
        e["payload"]?.DeepClone(),
        e["error"]?.GetValue<string>(),
        e["at"]!.GetValue<DateTimeOffset>());

    /// <summary>The end event as the outcome <see cref="RunOutput"/> prints: the same lines and exit code as in-process.</summary>
    private static RunOutcome ToOutcome(JsonNode end)
    {
        var duration = TimeSpan.FromMilliseconds(end["durationMs"]?.GetValue<double>() ?? 0);
        var run = new RunRecord
        {
            Id = end["runId"]!.GetValue<string>(),
            Script = "",
            ScriptHash = "",
            Language = "",
            EngineVersion = WorkflowEngine.EngineVersion,
            Status = Enum.Parse<RunStatus>(end["status"]!.GetValue<string>(), ignoreCase: true),
            Result = end["result"]?.DeepClone(),
            Error = end["error"]?.GetValue<string>(),
            StartedAt = DateTimeOffset.UnixEpoch,
            EndedAt = DateTimeOffset.UnixEpoch + duration,
        };
        return new RunOutcome(run, end["steps"]!.GetValue<int>(), end["report"]?.GetValue<string>(), BadInput: false);
    }
}
