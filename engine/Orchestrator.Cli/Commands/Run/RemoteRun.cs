using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Orchestrator.Cli.Host;
using Orchestrator.Cli.Progress;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Cli.Commands.Run;

/// <summary>
/// <c>run</c> and <c>resume</c> through a running host (<c>orchestrator serve</c>): submit, follow the run's events
/// into the same live progress, print the same result and return the same exit code; Ctrl+C cancels the run on the
/// host. Only an HTTP client is loaded: no store, plugins or compiler in this process.
/// </summary>
internal sealed class RemoteRun(HttpClient client, bool explicitHost)
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
        var http = new HttpClient { BaseAddress = uri, Timeout = Timeout.InfiniteTimeSpan };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return new RemoteRun(http, named is not null);
    }

    /// <summary>Submits the script and follows it; null when an implicit host cannot take it (then the run goes in-process).</summary>
    public async Task<int?> RunAsync(CliConsole console, string scriptPath, JsonNode? input, bool json, bool quiet, CancellationToken cancellationToken)
    {
        using var _ = client;
        // The submission is not cancelled half-way: Ctrl+C during it cancels the run on the host once it has an id.
        using var response = await PostAsync("/api/runs", new JsonObject { ["script"] = scriptPath, ["input"] = input?.DeepClone() }, CancellationToken.None);
        if (response is null)
        {
            return null;
        }

        var body = await ReadAsync(response, CancellationToken.None);
        return await FollowAsync(console, body["id"]!.GetValue<string>(), 0, json, quiet, cancellationToken);
    }

    /// <summary>Resumes the run on the host and follows what this attempt adds; null when an implicit host cannot take it.</summary>
    public async Task<int?> ResumeAsync(CliConsole console, string runId, bool force, bool json, bool quiet, CancellationToken cancellationToken)
    {
        using var _ = client;
        using var response = await PostAsync($"/api/runs/{Uri.EscapeDataString(runId)}/resume", new JsonObject { ["force"] = force }, CancellationToken.None);
        if (response is null)
        {
            return null;
        }

        var body = await ReadAsync(response, CancellationToken.None);
        return await FollowAsync(console, runId, body["afterSeq"]?.GetValue<long>() ?? 0, json, quiet, cancellationToken);
    }

    /// <summary>
    /// Tells the host that a decision or an event for the run was stored, so that it continues a run it can; false when
    /// no host took it (then the run waits for a resume).
    /// </summary>
    public async Task<bool> WakeAsync(string runId, CancellationToken cancellationToken)
    {
        using var _ = client;
        using var response = await PostAsync($"/api/runs/{Uri.EscapeDataString(runId)}/wake", [], cancellationToken);
        if (response is not { IsSuccessStatusCode: true })
        {
            return false;
        }

        return (await ReadAsync(response, cancellationToken))["resumed"]?.GetValue<bool>() == true;
    }

    /// <summary>GETs <paramref name="path"/> from the host; null when a host found by its file cannot be reached (it went away since).</summary>
    public async Task<JsonNode?> GetAsync(string path, CancellationToken cancellationToken)
    {
        using var _ = client;
        HttpResponseMessage response;
        try
        {
            response = await client.GetAsync(path, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            return explicitHost ? throw new CliException($"cannot reach the host at {client.BaseAddress}: {ex.Message}") : null;
        }

        using (response)
        {
            return await ReadAsync(response, cancellationToken);
        }
    }

    /// <summary>
    /// The host's response; null when a host found by its file cannot take the request (it went away since, or the
    /// script lies outside its scripts folder), so that this process runs it instead.
    /// </summary>
    private async Task<HttpResponseMessage?> PostAsync(string path, JsonObject body, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            var content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
            response = await client.PostAsync(path, content, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            return explicitHost ? throw new CliException($"cannot reach the host at {client.BaseAddress}: {ex.Message}") : null;
        }

        if (response.StatusCode == HttpStatusCode.Forbidden && !explicitHost)
        {
            response.Dispose();
            return null;
        }

        return response;
    }

    private async Task<int> FollowAsync(CliConsole console, string runId, long afterSeq, bool json, bool quiet, CancellationToken cancellationToken)
    {
        // Ctrl+C cancels the run on the host; the stream then carries it to its journaled end, as in-process.
        await using var cancelling = cancellationToken.Register(() => _ = client.PostAsync($"/api/runs/{Uri.EscapeDataString(runId)}/cancel", null, CancellationToken.None));
        JsonNode? end = null;
        await using (var progress = RunProgress.For(console, json, quiet))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runs/{Uri.EscapeDataString(runId)}/events");
            request.Headers.Add("Last-Event-ID", afterSeq.ToString(CultureInfo.InvariantCulture));
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, CancellationToken.None);
            if (!response.IsSuccessStatusCode)
            {
                await ReadAsync(response, CancellationToken.None);
            }

            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(CancellationToken.None));
            string? name = null;
            while (await reader.ReadLineAsync(CancellationToken.None) is { } line)
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

        return RunOutput.Report(console, ToOutcome(end), json, quiet);
    }

    /// <summary>The host's answer, or its one-line refusal as bad input (a script that does not compile, a refused resume).</summary>
    private static async Task<JsonNode> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonNode? body = null;
        try
        {
            body = JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            // Not ours: said below with the status.
        }

        if (!response.IsSuccessStatusCode)
        {
            throw response.StatusCode == HttpStatusCode.Unauthorized
                ? new CliException($"the host at {response.RequestMessage?.RequestUri?.GetLeftPart(UriPartial.Authority)} wants its token: set {TokenVariable}, or use --no-host")
                : new CliException(body?["error"]?.GetValue<string>() ?? $"the host answered {(int)response.StatusCode}: {text}");
        }

        return body ?? throw new CliException($"the host answered {(int)response.StatusCode} without JSON");
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
