using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Learning;
using Orchestrator.Core.Reporting;
using Orchestrator.Core.Runs;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting;

namespace Orchestrator.Cli.Host;

/// <summary>A run to start: the script (under the host's scripts folder; relative paths are taken from it) and its input.</summary>
internal sealed record RunSubmission(string? Script, JsonNode? Input);

/// <summary>How to resume: <c>force</c> resumes even though the script changed since the run started.</summary>
internal sealed record ResumeRequest(bool Force);

/// <summary>A decision on a waiting run's approval: which one (may be left out when it waits for one), approve or reject, who and why.</summary>
internal sealed record ApprovalRequest(string? Name, bool? Reject, string? By, string? Comment);

/// <summary>A review decision: <c>approve</c> or <c>reject</c>.</summary>
internal sealed record ReviewDecision(string? Decision);

/// <summary>The host's HTTP API (JSON; runs, their live events, the review queue, the system, learned statistics).</summary>
internal static class HostApi
{
    public static void Map(IEndpointRouteBuilder app, HostState host)
    {
        var api = app.MapGroup("/api");
        api.MapPost("/runs", (RunSubmission submission, CancellationToken ct) => SubmitAsync(host, submission, ct))
            .WithSummary("Start a run of a script under the host's scripts folder; 202 with the run once it is journaled.");
        HostConsole.Map(api, host);
        api.MapGet("/runs", (string? status, string? script, int? limit, CancellationToken ct) => ListAsync(host, status, script, limit, ct))
            .WithSummary("Runs, newest first; filter by status (running, waiting, succeeded, failed, cancelled, interrupted) and script (part of its path).");
        api.MapGet("/runs/{id}", (string id, CancellationToken ct) => GetAsync(host, id, ct))
            .WithSummary("One run with its steps.");
        api.MapGet("/runs/{id}/events", (HttpContext context, string id, CancellationToken ct) => EventsAsync(host, context, id, ct))
            .WithSummary("The run's events as server-sent events, from its first (or after Last-Event-ID), live while it runs, ending with its end.");
        api.MapGet("/runs/{id}/report", (HttpContext context, string id, CancellationToken ct) => ReportAsync(host, context, id, ct))
            .WithSummary("The run's HTML handoff report, as written when it ended (404 until then).");
        api.MapPost("/runs/{id}/cancel", (string id, bool? wait, CancellationToken ct) => CancelAsync(host, id, wait ?? false, ct))
            .WithSummary("Cancel a run in flight; it ends cancelled and can be resumed. With wait=true, answers once it has ended.");
        api.MapPost("/runs/{id}/resume", (string id, ResumeRequest? request, CancellationToken ct) => ResumeAsync(host, id, request?.Force ?? false, ct))
            .WithSummary("Resume an interrupted, cancelled or failed run: finished steps are replayed from the journal.");
        api.MapPost("/runs/{id}/approve", (string id, ApprovalRequest? request, CancellationToken ct) => ApproveAsync(host, id, request ?? new ApprovalRequest(null, null, null, null), ct))
            .WithSummary("Decide a waiting run's approval ({ name, reject, by, comment }); a run parked in this host continues at once.");
        api.MapPost("/runs/{id}/signal/{name}", (HttpContext context, string id, string name, CancellationToken ct) => SignalAsync(host, context, id, name, ct))
            .WithSummary("Send the event {name} to a run; the body (any JSON, or empty) is its data. Kept until the run's first wait for that name takes it.");
        api.MapPost("/runs/{id}/wake", (string id, CancellationToken ct) => WakeAsync(host, id, ct))
            .WithSummary("A decision or an event for the run was stored by other means (the CLI): a run parked in this host continues.");
        api.MapGet("/approvals", (CancellationToken ct) => ApprovalsAsync(host, ct))
            .WithSummary("The approvals waiting runs ask for, oldest first; decide one with POST /api/runs/{id}/approve.");
        api.MapGet("/reviews", (bool? all, CancellationToken ct) => ReviewsAsync(host, all ?? false, ct))
            .WithSummary("The optimization loop's recommendations waiting for review (all=true: also decided ones).");
        api.MapPost("/reviews/{id}/decide", (long id, ReviewDecision decision, CancellationToken ct) => DecideAsync(host, id, decision.Decision, ct))
            .WithSummary("Approve (in effect from the next run) or reject a pending recommendation.");
        api.MapGet("/status", (CancellationToken ct) => StatusAsync(host, ct))
            .WithSummary("The system state, as orchestrator status shows it: agents with capabilities, circuits, calls in flight and limits; MCP servers; connectors and their last health check; open reviews; what learning prefers per phase.");
        api.MapGet("/system", async (CancellationToken ct) => await SystemStateAsync(host, ct))
            .WithSummary("Agents with their circuits and steps in flight, MCP servers and their health, connectors, runs in flight.");
        api.MapGet("/stats", (string? phase, CancellationToken ct) => StatsAsync(host, phase, ct))
            .WithSummary("What was learned across runs: outcomes per phase, strategy and agent; the monitor's baselines.");
    }

    internal static async Task<IResult> SubmitAsync(HostState host, RunSubmission submission, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(submission.Script))
        {
            return Results.BadRequest(HostJson.Error("script: required"));
        }

        if (!host.Scripts.TryResolve(submission.Script, out var path))
        {
            return Results.Json(HostJson.Error(host.Scripts.Refusal(submission.Script)), statusCode: StatusCodes.Status403Forbidden);
        }

        if (!File.Exists(path))
        {
            return Results.BadRequest(HostJson.Error($"script not found: {path}"));
        }

        if (host.Cluster is { } cluster)
        {
            return await SubmitToClusterAsync(host, cluster, path, submission.Input, ct);
        }

        try
        {
            var run = await host.Runs.StartAsync(path, submission.Input?.DeepClone(), ct);
            return Results.Accepted($"/api/runs/{run.Id}", HostJson.Run(run.Record, inFlight: true));
        }
        catch (ScriptCompilationException ex)
        {
            return Results.BadRequest(HostJson.Error(ex.Message));
        }
        catch (ObjectDisposedException)
        {
            return Results.Json(HostJson.Error("the host is stopping"), statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    /// <summary>A cluster node's submission: the run starts on the node Orleans places it on, and is read back from the shared journal.</summary>
    private static async Task<IResult> SubmitToClusterAsync(HostState host, Cluster.IClusterRouting cluster, string path, JsonNode? input, CancellationToken ct)
    {
        var placed = await cluster.StartAsync(path, input, ct);
        if (placed.RunId is null)
        {
            return placed.BadRequest
                ? Results.BadRequest(HostJson.Error(placed.Error ?? "the run did not start"))
                : Results.Json(HostJson.Error(placed.Error ?? "the run did not start"), statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        var record = await host.Journal.GetRunAsync(placed.RunId, ct);
        var json = record is null ? new JsonObject { ["id"] = placed.RunId, ["status"] = "running" } : HostJson.Run(record, inFlight: true);
        json["node"] = placed.Node;
        return Results.Accepted($"/api/runs/{placed.RunId}", json);
    }

    private static async Task<IResult> ListAsync(HostState host, string? status, string? script, int? limit, CancellationToken ct)
    {
        var runs = await host.Journal.ListRunsAsync(ct);
        var leased = host.Cluster is { } cluster ? await cluster.LeasedAsync(ct) : null;
        var listed = runs
            .OrderByDescending(r => r.StartedAt)
            .Select(r => HostJson.Run(r, host.Runs.Find(r.Id) is not null || leased?.Contains(r.Id) == true, host.Journal.SharedAcrossMachines))
            .Where(r => status is null || string.Equals((string?)r["status"], status, StringComparison.OrdinalIgnoreCase))
            .Where(r => script is null || ((string?)r["script"])?.Contains(script, StringComparison.OrdinalIgnoreCase) == true)
            .Take(Math.Clamp(limit ?? 200, 1, 10_000));
        return Results.Ok(new JsonArray([.. listed]));
    }

    private static async Task<IResult> GetAsync(HostState host, string id, CancellationToken ct)
    {
        var run = await host.Journal.GetRunAsync(id, ct);
        if (run is null)
        {
            return NoRun(id);
        }

        // As a report reads it: a big run's steps by pattern, with previews of large values, never the whole journal at once.
        var digester = new StepDigestBuilder();
        await foreach (var row in host.Journal.ReadAsync(id, digester.PayloadFor, ct))
        {
            digester.Add(in row);
        }

        var (digest, steps) = digester.Finish();
        var (leased, owner) = host.Cluster is { } cluster ? await cluster.LeaseAsync(id, ct) : (false, null);
        var json = HostJson.Run(run, host.Runs.Find(id) is not null || leased, host.Journal.SharedAcrossMachines);
        json["input"] = run.Input?.DeepClone();
        json["result"] = run.Result?.DeepClone();
        json["steps"] = new JsonArray([.. steps.Select(HostJson.Step)]);
        if (host.Cluster is { } nodes)
        {
            json["node"] = owner;
            var stepNodes = await nodes.StepNodesAsync(id, ct);
            foreach (var step in json["steps"]!.AsArray())
            {
                step!["node"] = stepNodes.GetValueOrDefault((string)step["id"]!);
            }
        }

        json["stepsOmitted"] = digest.StepsOmitted;
        json["stepGroups"] = JsonSerializer.SerializeToNode(digest.Groups, HandoffPackageJson.Options);
        return Results.Ok(json);
    }

    private static async Task EventsAsync(HostState host, HttpContext context, string id, CancellationToken ct)
    {
        var live = host.Runs.Find(id)?.Events;
        if (live is null && await host.Journal.GetRunAsync(id, ct) is null)
        {
            await NoRun(id).ExecuteAsync(context);
            return;
        }

        var after = long.TryParse(context.Request.Headers["Last-Event-ID"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var lastId) ? lastId : 0;
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        await response.Body.FlushAsync(ct);
        var text = new StringBuilder();
        await foreach (var e in RunEventReader.ReadAsync(host.Journal, id, live, after, host.Time, DrivenElsewhere(host, id), ct))
        {
            text.Clear();
            if (e.End is null)
            {
                text.Append("id: ").Append(e.Step.Seq.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }

            text.Append("event: ").Append(HostJson.EventName(e)).Append('\n')
                .Append("data: ").Append(HostJson.Event(e).ToJsonString()).Append("\n\n");
            await response.WriteAsync(text.ToString(), ct);
            await response.Body.FlushAsync(ct);
        }
    }

    /// <summary>For a cluster node: whether another node drives the run (or is taking it over), whose journal is then followed.</summary>
    internal static Func<CancellationToken, ValueTask<bool>>? DrivenElsewhere(HostState host, string runId) =>
        host.Cluster is { } cluster ? async token => (await cluster.LeaseAsync(runId, token)).Leased : null;

    private static async Task<IResult> ReportAsync(HostState host, HttpContext context, string id, CancellationToken ct)
    {
        if (await host.Journal.GetRunAsync(id, ct) is null)
        {
            return NoRun(id);
        }

        var path = host.Reports.ReportPath(id, "html");
        if (!File.Exists(path))
        {
            return Results.NotFound(HostJson.Error($"run {id} has no report yet: it is written when the run ends"));
        }

        // Step data shows in it: opened on its own, it runs no script and loads nothing.
        context.Response.Headers.ContentSecurityPolicy = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:";
        return Results.Content(await File.ReadAllTextAsync(path, ct), "text/html; charset=utf-8");
    }

    private static async Task<IResult> CancelAsync(HostState host, string id, bool wait, CancellationToken ct)
    {
        var active = host.Runs.Find(id);
        if (active is null && host.Cluster is { } cluster && await cluster.CancelAsync(id, ct))
        {
            // Driven by another node: cancelled there.
            return Results.Accepted($"/api/runs/{id}", new JsonObject { ["id"] = id, ["status"] = "cancelling" });
        }

        if (active is null)
        {
            return await host.Journal.GetRunAsync(id, ct) is null
                ? NoRun(id)
                : Results.Conflict(HostJson.Error($"run {id} is not running in this host"));
        }

        active.Cancel();
        if (!wait)
        {
            return Results.Accepted($"/api/runs/{id}", new JsonObject { ["id"] = id, ["status"] = "cancelling" });
        }

        var outcome = await active.Completion.WaitAsync(ct);
        return Results.Ok(HostJson.Run(outcome.Run, inFlight: false));
    }

    internal static async Task<IResult> ResumeAsync(HostState host, string id, bool force, CancellationToken ct)
    {
        var run = await host.Journal.GetRunAsync(id, ct);
        if (run is null)
        {
            return NoRun(id);
        }

        if (!host.Scripts.Contains(Path.GetFullPath(run.Script)))
        {
            return Results.Json(HostJson.Error(host.Scripts.Refusal(run.Script)), statusCode: StatusCodes.Status403Forbidden);
        }

        if (host.Cluster is { } cluster)
        {
            var placed = await cluster.ResumeAsync(id, force, ct);
            if (placed.RunId is null)
            {
                return placed.BadRequest ? Results.Conflict(HostJson.Error(placed.Error ?? "not resumed")) : Results.Json(HostJson.Error(placed.Error ?? "not resumed"), statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            var now = await host.Journal.GetRunAsync(id, ct) ?? run;
            var placedJson = HostJson.Run(now with { Status = RunStatus.Running }, inFlight: true);
            placedJson["node"] = placed.Node;
            return Results.Accepted($"/api/runs/{id}", placedJson);
        }

        try
        {
            var resumed = await host.Runs.ResumeAsync(id, force, ct);
            var json = HostJson.Run(resumed.Record with { Status = RunStatus.Running }, inFlight: true);
            json["afterSeq"] = resumed.ResumedAfter;
            return Results.Accepted($"/api/runs/{id}", json);
        }
        catch (ResumeRefusedException ex)
        {
            return Results.Conflict(HostJson.Error(ex.Message));
        }
        catch (ScriptCompilationException ex)
        {
            return Results.BadRequest(HostJson.Error(ex.Message));
        }
        catch (FileNotFoundException)
        {
            return Results.Conflict(HostJson.Error($"run {id}'s script is gone: {run.Script}"));
        }
        catch (ObjectDisposedException)
        {
            return Results.Json(HostJson.Error("the host is stopping"), statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    private static async Task<IResult> ApproveAsync(HostState host, string id, ApprovalRequest request, CancellationToken ct)
    {
        try
        {
            var approved = request.Reject != true;
            var wait = await Core.Waits.WaitDecisions.DecideAsync(host.Journal, id, request.Name, approved, request.By ?? "api", request.Comment, host.Time.GetUtcNow(), ct);
            return Results.Ok(new JsonObject
            {
                ["runId"] = id,
                ["name"] = wait.Name,
                ["stepId"] = wait.StepId,
                ["decision"] = wait.Decision!.DeepClone(),
                ["resumed"] = await WakeRunAsync(host, id, ct),
            });
        }
        catch (Core.Waits.WaitRefusedException ex)
        {
            return Results.Conflict(HostJson.Error(ex.Message));
        }
    }

    private static async Task<IResult> SignalAsync(HostState host, HttpContext context, string id, string name, CancellationToken ct)
    {
        JsonNode? data;
        try
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var text = await reader.ReadToEndAsync(ct);
            data = string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text);
        }
        catch (JsonException ex)
        {
            return Results.BadRequest(HostJson.Error($"body: invalid JSON: {ex.Message}"));
        }

        try
        {
            var signal = await Core.Waits.WaitDecisions.SignalAsync(host.Journal, id, name, data, host.Time.GetUtcNow(), ct);
            return Results.Ok(new JsonObject { ["runId"] = id, ["name"] = name, ["signal"] = signal, ["resumed"] = await WakeRunAsync(host, id, ct) });
        }
        catch (Core.Waits.WaitRefusedException ex)
        {
            return Results.Conflict(HostJson.Error(ex.Message));
        }
    }

    private static async Task<IResult> WakeAsync(HostState host, string id, CancellationToken ct) =>
        Results.Ok(new JsonObject { ["runId"] = id, ["resumed"] = await WakeRunAsync(host, id, ct) });

    /// <summary>Continues a parked run whose wait may have ended: here, or in a cluster on the node that holds it.</summary>
    private static Task<bool> WakeRunAsync(HostState host, string id, CancellationToken ct) =>
        host.Cluster is { } cluster ? cluster.WakeAsync(id, ct) : host.Runs.Parked.WakeAsync(id, ct);

    private static async Task<IResult> ApprovalsAsync(HostState host, CancellationToken ct)
    {
        var waits = await host.Journal.Waits.ListAsync(null, includeClosed: false, ct);
        return Results.Ok(new JsonArray([.. waits.Where(w => w.Kind == "approval" && w.Decision is null).Select(w => (JsonNode)new JsonObject
        {
            ["runId"] = w.RunId,
            ["name"] = w.Name,
            ["step"] = w.StepId,
            ["data"] = w.Data?.DeepClone(),
            ["askedAt"] = w.CreatedAt,
            ["dueAt"] = w.DueAt,
        })]));
    }

    private static async Task<IResult> ReviewsAsync(HostState host, bool all, CancellationToken ct)
    {
        var listed = await host.Journal.Learning.ListRecommendationsAsync(ct);
        return Results.Ok(new JsonArray([.. listed.Where(r => all || r.Status == RecommendationStatus.Pending).Select(r => (JsonNode)r.ToJson())]));
    }

    private static async Task<IResult> DecideAsync(HostState host, long id, string? decision, CancellationToken ct)
    {
        var status = decision?.ToLowerInvariant() switch
        {
            "approve" => RecommendationStatus.Approved,
            "reject" => RecommendationStatus.Rejected,
            _ => (RecommendationStatus?)null,
        };
        if (status is null)
        {
            return Results.BadRequest(HostJson.Error($"decision: '{decision}' is not approve or reject"));
        }

        var existing = (await host.Journal.Learning.ListRecommendationsAsync(ct)).FirstOrDefault(r => r.Id == id);
        if (existing is null)
        {
            return Results.NotFound(HostJson.Error($"no recommendation #{id}"));
        }

        if (!await host.Journal.Learning.DecideAsync(id, status.Value, host.Time.GetUtcNow(), ct))
        {
            return Results.Conflict(HostJson.Error($"recommendation #{id} is {existing.Status.ToString().ToLowerInvariant()}, not pending; only pending ones can be decided"));
        }

        var decided = (await host.Journal.Learning.ListRecommendationsAsync(ct)).First(r => r.Id == id);
        return Results.Ok(decided.ToJson());
    }

    private static async Task<IResult> SystemStateAsync(HostState host, CancellationToken ct)
    {
        var state = SystemState(host);
        if (host.Cluster is { } cluster)
        {
            state["node"] = cluster.Node;
            state["nodes"] = await cluster.NodesAsync(ct);
        }

        return Results.Ok(state);
    }

    private static JsonObject SystemState(HostState host)
    {
        var circuits = host.Health.Circuits.ToDictionary(c => c.Id, StringComparer.OrdinalIgnoreCase);
        var sources = host.Plugins.Plugins.Where(p => p.Type == Core.Plugins.PluginInfo.AgentType).GroupBy(p => p.Name, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);
        var agents = new JsonArray();
        foreach (var kind in host.Plugins.AgentKinds.Order(StringComparer.OrdinalIgnoreCase))
        {
            circuits.TryGetValue(kind, out var circuit);
            agents.Add(new JsonObject
            {
                ["kind"] = kind,
                ["plugin"] = sources.TryGetValue(kind, out var plugin) ? plugin.AssemblyPath : null,
                ["circuit"] = (circuit?.State ?? Core.Health.AgentHealthState.Healthy).ToString().ToLowerInvariant(),
                ["successes"] = circuit?.Successes ?? 0,
                ["failures"] = circuit?.Failures ?? 0,
                ["inFlight"] = host.Activity.InFlight(kind),
            });
        }

        var servers = new JsonArray([.. (host.Mcp?.Servers ?? []).Select(s => (JsonNode)new JsonObject
        {
            ["name"] = s.Name,
            ["health"] = s.Health.ToString().ToLowerInvariant(),
            ["lastError"] = s.LastError,
            ["tools"] = new JsonArray([.. s.Tools.Select(t => (JsonNode)t.Name)]),
            ["outstanding"] = s.Outstanding,
            ["calls"] = s.Calls,
            ["failures"] = s.Failures,
        })]);
        return new JsonObject
        {
            ["agents"] = agents,
            ["mcpServers"] = servers,
            ["connectors"] = new JsonArray([.. host.Connectors.Names.Select(n => (JsonNode)n)]),
            ["runsInFlight"] = new JsonArray([.. host.Runs.InFlight.Select(r => (JsonNode)new JsonObject { ["id"] = r.Id, ["script"] = r.Record.Script, ["startedAt"] = r.Record.StartedAt })]),
            ["scripts"] = host.Scripts.Directory,
            ["monitor"] = new JsonObject { ["watching"] = host.Runs.Monitor.Watched, ["wakeups"] = host.Runs.Monitor.Wakeups },
        };
    }

    /// <summary>The system state as <c>orchestrator status</c> and <c>SystemState()</c> show it (one model, <see cref="Core.State.SystemStateReader"/>).</summary>
    private static async Task<IResult> StatusAsync(HostState host, CancellationToken ct)
    {
        var state = await Core.State.SystemStateReader.ReadAsync(
            new Core.State.SystemSources
            {
                Agents = host.Plugins,
                Health = host.Health,
                InFlight = host.Activity.InFlight,
                Mcp = host.Mcp,
                Connectors = host.Connectors,
                Journal = host.Journal,
            },
            ct);

        // A node of a cluster adds the cluster's nodes: the part of the state only a live cluster knows.
        if (host.Cluster is { } cluster)
        {
            state["nodes"] = await cluster.NodesAsync(ct);
        }

        return Results.Ok(state);
    }

    private static async Task<IResult> StatsAsync(HostState host, string? phase, CancellationToken ct)
    {
        var outcomes = await host.Journal.Learning.GetOutcomesAsync(phase, ct);
        var baselines = await host.Journal.Learning.GetBaselinesAsync(ct);
        return Results.Ok(new JsonObject
        {
            ["outcomes"] = new JsonArray([.. outcomes.Select(o => (JsonNode)new JsonObject
            {
                ["phase"] = o.Phase,
                ["strategy"] = o.Strategy,
                ["agent"] = o.Agent,
                ["runs"] = o.Runs,
                ["successRate"] = o.SuccessRate,
                ["items"] = o.Items,
                ["failedItems"] = o.FailedItems,
                ["meanItemMs"] = o.MeanItemMs,
                ["lastAt"] = o.LastAt,
            })]),
            ["baselines"] = new JsonArray([.. baselines.OrderBy(b => b.Key, StringComparer.Ordinal).Select(b => (JsonNode)new JsonObject
            {
                ["metric"] = b.Key,
                ["mean"] = b.Value.Mean,
                ["stddev"] = Math.Sqrt(b.Value.Variance),
                ["samples"] = b.Value.Count,
            })]),
        });
    }

    private static IResult NoRun(string id) => Results.NotFound(HostJson.Error($"no run with id '{id}'"));
}
