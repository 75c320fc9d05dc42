using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Cli.Commands.Run;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Mcp;
using Orchestrator.Core.Plugins;
using Orchestrator.Core.State;
using Serilog.Core;

namespace Orchestrator.Cli.Commands.Status;

/// <summary>
/// <c>orchestrator status [--json]</c>: the system state (<see cref="SystemStateReader"/>), from the live host that serves the
/// store when there is one (circuits, calls in flight, MCP health and connector checks are its), else read here from the
/// store, the plugins and the configuration files, without starting anything. It only reads: a missing store is one line.
/// </summary>
internal static class StatusCommand
{
    public static Command Create(CliConsole console)
    {
        var store = CommonOptions.Store();
        var json = CommonOptions.Json();
        var plugins = CommonOptions.Plugins();
        var mcpConfig = CommonOptions.McpConfig();
        var host = RemoteRun.HostOption();
        var noHost = RemoteRun.NoHostOption();
        var command = new Command("status", "Show the system state: agents with their capabilities, circuits, calls in flight and limits; MCP servers and their health; connectors and their last health check; open review items; what learning prefers per phase.")
        {
            store, json, plugins, mcpConfig, host, noHost,
        };
        command.SetAction((parse, ct) => ShowAsync(
            console, parse.GetValue(store)!, parse.GetValue(json), parse.GetValue(plugins) ?? [], parse.GetValue(mcpConfig), parse.GetValue(host), parse.GetValue(noHost), ct));
        return command;
    }

    private static async Task<int> ShowAsync(CliConsole console, string store, bool json, string[] pluginDirectories, string? mcpConfig, string? hostUrl, bool noHost, CancellationToken ct)
    {
        var state = RemoteRun.Find(store, hostUrl, noHost, inProcessOnly: false) is { } remote
            ? remote.Get("/api/status") as JsonObject
            : null;
        state ??= await ReadHereAsync(console, store, pluginDirectories, mcpConfig, ct);
        if (json)
        {
            console.Line(state.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return ExitCodes.Success;
        }

        Print(console, state);
        return ExitCodes.Success;
    }

    private static async Task<JsonObject> ReadHereAsync(CliConsole console, string store, string[] pluginDirectories, string? mcpConfig, CancellationToken ct)
    {
        await using var session = StoreSession.OpenExisting(store, console);
        using var agents = PluginHost.Load([PluginHost.DefaultDirectory, .. pluginDirectories], Logger.None);
        await using var mcp = WorkflowHost.LoadMcpConfiguration(null, session.Directory, mcpConfig) is { Servers.Count: > 0 } config
            ? new McpCoordinator(config, TimeProvider.System, Logger.None)
            : null;
        await using var connectors = ConnectorFiles.Load(ConnectorFiles.None, null, session.Directory, session.Secrets);
        return await SystemStateReader.ReadAsync(
            new SystemSources { Agents = agents, Mcp = mcp, Connectors = connectors, Journal = session.Journal },
            ct);
    }

    private static void Print(CliConsole console, JsonObject state)
    {
        var agents = state["agents"]?.AsArray() ?? [];
        TextTable.Write(console, ["AGENT", "KIND", "CAPABILITIES", "IN FLIGHT", "LIMIT", "CIRCUITS"], [.. agents.Select(a => new[]
        {
            Text(a!["id"]),
            Text(a["kind"]),
            string.Join(",", a["capabilities"]!.AsArray().Select(Text)),
            Text(a["inFlight"]),
            a["maxConcurrency"] is null ? "-" : Text(a["maxConcurrency"]),
            a["circuits"]!.AsArray().Count == 0 ? "healthy" : string.Join("; ", a["circuits"]!.AsArray().Select(c => $"{(c!["target"] is null ? "" : Text(c["target"]) + ": ")}{Text(c["state"])}")),
        })]);

        if (state["mcpServers"] is JsonArray { Count: > 0 } servers)
        {
            console.Line("");
            TextTable.Write(console, ["MCP SERVER", "HEALTH", "TOOLS", "LAST ERROR"], [.. servers.Select(s => new[]
            {
                Text(s!["name"]), Text(s["health"]), s["tools"]!.AsArray().Count.ToString(CultureInfo.InvariantCulture), Text(s["lastError"]),
            })]);
        }

        if (state["connectors"] is JsonArray { Count: > 0 } connectors)
        {
            console.Line("");
            TextTable.Write(console, ["CONNECTOR", "LAST HEALTH CHECK"], [.. connectors.Select(c => new[]
            {
                Text(c!["name"]),
                c["lastHealthCheck"] is JsonObject check ? $"{(check["healthy"]!.GetValue<bool>() ? "healthy" : "unhealthy")} at {Text(check["at"])}" : "none yet",
            })]);
        }

        var reviews = state["reviews"] as JsonObject;
        var recommendations = reviews?["recommendations"]?.AsArray().Count ?? 0;
        var approvals = reviews?["approvals"]?.AsArray().Count ?? 0;
        console.Line("");
        console.Line(string.Create(CultureInfo.InvariantCulture, $"open reviews: {recommendations} recommendation(s) (orchestrator review), {approvals} approval(s) (orchestrator approve)"));

        if (state["nodes"] is JsonArray { Count: > 0 } nodes)
        {
            console.Line("");
            TextTable.Write(console, ["NODE", "ADDRESS", "UP SINCE", "RUNS OWNED", "AGENT STEPS IN FLIGHT"], [.. nodes.Select(n => new[]
            {
                Text(n!["name"]) + (n["self"]?.GetValue<bool>() == true ? " (this)" : ""), Text(n["address"]), Text(n["upSince"]), Text(n["runsOwned"]), Text(n["agentStepsInFlight"]),
            })]);
        }

        if (state["learning"]?["phases"] is JsonArray { Count: > 0 } phases)
        {
            console.Line("");
            TextTable.Write(console, ["PHASE", "PREFERS", "VALUES"], [.. phases.Select(p => new[]
            {
                Text(p!["phase"]),
                Text(p["preferred"]),
                string.Join(", ", p["strategies"]!.AsArray().Select(s => $"{Text(s!["strategy"])} {Text(s["value"])}")),
            })]);
        }
    }

    private static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        _ => node.ToJsonString(),
    };
}
