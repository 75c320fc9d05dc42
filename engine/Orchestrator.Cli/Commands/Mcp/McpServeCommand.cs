using System.CommandLine;
using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Orchestrator.Cli.Commands.Run;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Learning;
using Orchestrator.Core.Reporting;

namespace Orchestrator.Cli.Commands.Mcp;

/// <summary>
/// <c>orchestrator mcp serve</c>: the engine as an MCP server over stdio, so that any MCP client (an IDE, an
/// assistant) can run workflows and read runs and reports. Standard output is the protocol channel; anything
/// else goes to stderr and the store's log.
/// </summary>
internal static class McpServeCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create()
    {
        var store = CommonOptions.Store();
        var plugins = CommonOptions.Plugins();
        var mcpConfig = CommonOptions.McpConfig();
        var scripts = new Option<string?>("--scripts")
        {
            Description = "The folder whose scripts run_workflow may run (default: the current folder); a script outside it is a tool error.",
        };
        var host = RemoteRun.HostOption();
        var noHost = RemoteRun.NoHostOption();
        var command = new Command("serve", "Serve the engine's tools over MCP (stdio): run_workflow, list_runs, show_run, get_report, list_reviews, decide_review, approve_run, signal_run.") { store, plugins, mcpConfig, scripts, host, noHost };
        command.SetAction((parse, ct) => ServeAsync(
            new Settings(parse.GetValue(store)!, parse.GetValue(plugins) ?? [], parse.GetValue(mcpConfig), new ScriptRoot(parse.GetValue(scripts) ?? Directory.GetCurrentDirectory()), parse.GetValue(host), parse.GetValue(noHost)),
            ct));
        return command;
    }

    private static async Task<int> ServeAsync(Settings settings, CancellationToken cancellationToken)
    {
        // A host named by --host or ORCHESTRATOR_HOST that is not a URL is bad input before serving, not on every run.
        _ = settings.Host();
        // Diagnostics must never reach stdout, which carries the protocol.
        var quiet = new CliConsole(TextWriter.Null, Console.Error);
        var options = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "orchestrator", Version = typeof(McpServeCommand).Assembly.GetName().Version?.ToString(3) ?? "0.0.0" },
            ToolCollection =
            [
                McpServerTool.Create(
                    ([Description("Path of the workflow script (.csx or .js) under the server's scripts folder, absolute or relative to it.")] string script,
                     [Description("The run's input as JSON text (optional).")] string? input = null,
                     CancellationToken ct = default) => RunWorkflowAsync(quiet, settings, script, input, ct),
                    new McpServerToolCreateOptions { Name = "run_workflow", Description = "Run a workflow script to the end; returns the run id, status, result, error and report path." }),
                McpServerTool.Create(
                    (CancellationToken ct) => ListRunsAsync(quiet, settings, ct),
                    new McpServerToolCreateOptions { Name = "list_runs", Description = "List the runs in the store, newest first: id, status, start, duration, script.", ReadOnly = true }),
                McpServerTool.Create(
                    ([Description("The run id.")] string id, CancellationToken ct) => ShowRunAsync(quiet, settings, id, ct),
                    new McpServerToolCreateOptions { Name = "show_run", Description = "One run with its steps (inputs, outputs, errors, timings) as its handoff package JSON.", ReadOnly = true }),
                McpServerTool.Create(
                    ([Description("The run id.")] string id, [Description("md (default) or html.")] string? format = null, CancellationToken ct = default) => GetReportAsync(quiet, settings, id, format, ct),
                    new McpServerToolCreateOptions { Name = "get_report", Description = "A run's handoff report, rendered from the journal.", ReadOnly = true }),
                McpServerTool.Create(
                    ([Description("Also list decided and applied recommendations.")] bool all = false, CancellationToken ct = default) => ListReviewsAsync(quiet, settings, all, ct),
                    new McpServerToolCreateOptions { Name = "list_reviews", Description = "The optimization loop's recommendations waiting for review: id, risk, phase, strategy, change, why.", ReadOnly = true }),
                McpServerTool.Create(
                    ([Description("The recommendation id.")] long id, [Description("approve or reject.")] string decision, CancellationToken ct) => DecideReviewAsync(quiet, settings, id, decision, ct),
                    new McpServerToolCreateOptions { Name = "decide_review", Description = "Approve (in effect from the next run) or reject a pending recommendation." }),
                McpServerTool.Create(
                    ([Description("The waiting run's id.")] string id,
                     [Description("The approval's name; may be left out when the run waits for one.")] string? name = null,
                     [Description("Reject instead of approve.")] bool reject = false,
                     [Description("Who decides (default: mcp).")] string? by = null,
                     [Description("Why, kept with the decision.")] string? comment = null,
                     CancellationToken ct = default) => ApproveRunAsync(quiet, settings, id, name, reject, by, comment, ct),
                    new McpServerToolCreateOptions { Name = "approve_run", Description = "Approve (or reject) what a waiting run asks for; a host serving the store continues the run at once." }),
                McpServerTool.Create(
                    ([Description("The run's id.")] string id,
                     [Description("The event's name, as the script waits for it.")] string name,
                     [Description("The event's data as JSON text (optional): what the wait step returns.")] string? data = null,
                     CancellationToken ct = default) => SignalRunAsync(quiet, settings, id, name, data, ct),
                    new McpServerToolCreateOptions { Name = "signal_run", Description = "Send an event to a run; kept until its first wait for that name takes it. A host serving the store continues a parked run at once." }),
            ],
        };

        await using var server = McpServer.Create(new StdioServerTransport(options), options);
        await server.RunAsync(cancellationToken);
        return ExitCodes.Success;
    }

    private static async Task<string> RunWorkflowAsync(CliConsole quiet, Settings settings, string script, string? input, CancellationToken ct)
    {
        var output = await ToolAsync(async () =>
        {
            JsonNode? parsed = null;
            if (!string.IsNullOrWhiteSpace(input))
            {
                try
                {
                    parsed = JsonNode.Parse(input);
                }
                catch (JsonException ex)
                {
                    throw new CliException($"input: invalid JSON: {ex.Message}");
                }
            }

            if (!settings.Scripts.TryResolve(script, out var path))
            {
                throw new CliException(settings.Scripts.Refusal(script));
            }

            // As 'orchestrator run': a host serving the store runs it, and one that was not named but cannot take it leaves
            // it to this process. The call holds a pool thread on the host's socket until the run ends (HostHttp blocks).
            if (settings.Host() is { } remote && await remote.RunToEndAsync(path, parsed, ct) is { } placed)
            {
                return RunOutput.ToJson(placed);
            }

            await using var host = WorkflowHost.Open(quiet, path, settings.Store, settings.Plugins, settings.McpConfig, verbose: false, useCache: true, ct);
            var outcome = await host.Engine.RunAsync(host.Program, parsed, ct);
            return RunOutput.ToJson(outcome);
        });
        return output.ToJsonString(Indented);
    }

    private static async Task<string> ListRunsAsync(CliConsole quiet, Settings settings, CancellationToken ct)
    {
        var runs = await ToolAsync(async () =>
        {
            await using var session = StoreSession.Open(settings.Store, verbose: false, quiet);
            var list = await session.Journal.ListRunsAsync(ct);
            return new JsonArray([.. list.OrderByDescending(r => r.StartedAt).Select(r => new JsonObject
            {
                ["id"] = r.Id,
                ["status"] = (RunLiveness.IsInterrupted(r, session.Journal.SharedAcrossMachines) ? "interrupted" : r.Status.ToString().ToLowerInvariant()),
                ["startedAt"] = r.StartedAt,
                ["durationMs"] = r.DurationMs,
                ["script"] = r.Script,
            })]);
        });
        return runs.ToJsonString(Indented);
    }

    private static async Task<string> ShowRunAsync(CliConsole quiet, Settings settings, string id, CancellationToken ct) =>
        await ToolAsync(async () =>
        {
            await using var session = StoreSession.Open(settings.Store, verbose: false, quiet);
            _ = await session.Journal.GetRunAsync(id, ct) ?? throw new CliException($"no run with id '{id}' in {session.Directory}");
            return HandoffPackageJson.Serialize(await HandoffPackage.LoadAsync(session.Journal, id, ct));
        });

    private static async Task<string> GetReportAsync(CliConsole quiet, Settings settings, string id, string? format, CancellationToken ct) =>
        await ToolAsync(async () =>
        {
            var kind = format?.ToLowerInvariant() switch
            {
                null or "" or "md" => ReportFormat.Markdown,
                "html" => ReportFormat.Html,
                _ => throw new CliException($"format: '{format}' is not md or html"),
            };
            await using var session = StoreSession.Open(settings.Store, verbose: false, quiet);
            _ = await session.Journal.GetRunAsync(id, ct) ?? throw new CliException($"no run with id '{id}' in {session.Directory}");
            return new ReportWriter(session.Directory, secrets: session.Secrets).Render(await HandoffPackage.LoadAsync(session.Journal, id, ct), kind, null);
        });

    private static async Task<string> ListReviewsAsync(CliConsole quiet, Settings settings, bool all, CancellationToken ct) =>
        await ToolAsync(async () =>
        {
            await using var session = StoreSession.Open(settings.Store, verbose: false, quiet);
            var listed = await session.Journal.Learning.ListRecommendationsAsync(ct);
            return new JsonArray([.. listed.Where(r => all || r.Status == RecommendationStatus.Pending).Select(r => (JsonNode)r.ToJson())]).ToJsonString(Indented);
        });

    private static async Task<string> DecideReviewAsync(CliConsole quiet, Settings settings, long id, string decision, CancellationToken ct) =>
        await ToolAsync(async () =>
        {
            var status = decision.ToLowerInvariant() switch
            {
                "approve" => RecommendationStatus.Approved,
                "reject" => RecommendationStatus.Rejected,
                _ => throw new CliException($"decision: '{decision}' is not approve or reject"),
            };
            await using var session = StoreSession.Open(settings.Store, verbose: false, quiet);
            if (!await session.Journal.Learning.DecideAsync(id, status, TimeProvider.System.GetUtcNow(), ct))
            {
                throw new CliException($"no pending recommendation #{id} in {session.Directory}");
            }

            var decided = (await session.Journal.Learning.ListRecommendationsAsync(ct)).First(r => r.Id == id);
            return decided.ToJson().ToJsonString(Indented);
        });

    private static async Task<string> ApproveRunAsync(CliConsole quiet, Settings settings, string id, string? name, bool reject, string? by, string? comment, CancellationToken ct) =>
        await ToolAsync(async () =>
        {
            Core.Waits.WaitRecord wait;
            await using (var session = StoreSession.Open(settings.Store, verbose: false, quiet))
            {
                wait = await Decided(Core.Waits.WaitDecisions.DecideAsync(session.Journal, id, name, !reject, by ?? "mcp", comment, TimeProvider.System.GetUtcNow(), ct));
            }

            var continued = Waits.HostNotice.Wake(quiet, settings.Store, id);
            return new JsonObject { ["runId"] = id, ["name"] = wait.Name, ["decision"] = wait.Decision!.DeepClone(), ["continuedByHost"] = continued }.ToJsonString(Indented);
        });

    private static async Task<string> SignalRunAsync(CliConsole quiet, Settings settings, string id, string name, string? data, CancellationToken ct) =>
        await ToolAsync(async () =>
        {
            JsonNode? parsed;
            try
            {
                parsed = string.IsNullOrWhiteSpace(data) ? null : JsonNode.Parse(data);
            }
            catch (JsonException ex)
            {
                throw new CliException($"data: invalid JSON: {ex.Message}");
            }

            await using (var session = StoreSession.Open(settings.Store, verbose: false, quiet))
            {
                await Decided(Core.Waits.WaitDecisions.SignalAsync(session.Journal, id, name, parsed, TimeProvider.System.GetUtcNow(), ct));
            }

            var continued = Waits.HostNotice.Wake(quiet, settings.Store, id);
            return new JsonObject { ["runId"] = id, ["name"] = name, ["continuedByHost"] = continued }.ToJsonString(Indented);
        });

    /// <summary>A refused decision or signal is a tool error in one line.</summary>
    private static async Task<T> Decided<T>(Task<T> decision)
    {
        try
        {
            return await decision;
        }
        catch (Core.Waits.WaitRefusedException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    /// <summary>A tool's failure reaches the client as one line.</summary>
    private static async Task<T> ToolAsync<T>(Func<Task<T>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Otherwise the client would only hear that "an error occurred".
            throw new McpException(ex is CliException or TemplateException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}", ex);
        }
    }

    private sealed record Settings(string Store, string[] Plugins, string? McpConfig, ScriptRoot Scripts, string? HostUrl, bool NoHost)
    {
        /// <summary>
        /// The host run_workflow submits to, found again for each run (a host may start or stop meanwhile); a host found
        /// only by the store's host file is not used when this server has its own plugins or MCP configuration.
        /// </summary>
        public RemoteRun? Host() => RemoteRun.Find(Store, HostUrl, NoHost, inProcessOnly: Plugins.Length > 0 || McpConfig is not null);
    }
}
