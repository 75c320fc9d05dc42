using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Mcp;
using Serilog.Core;

namespace Orchestrator.Cli.Commands.Mcp;

/// <summary><c>orchestrator mcp list</c>: the MCP servers a script would see, started and checked, with their tools.</summary>
internal static class McpCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("mcp", "MCP: list the servers workflows can call, or serve the engine's own tools.");
        command.Subcommands.Add(List(console));
        command.Subcommands.Add(McpServeCommand.Create());
        return command;
    }

    private static Command List(CliConsole console)
    {
        var script = new Argument<string?>("script") { Description = "A workflow script: its folder's mcp.json is read too.", Arity = ArgumentArity.ZeroOrOne };
        var store = CommonOptions.Store();
        var mcpConfig = CommonOptions.McpConfig();
        var command = new Command("list", "Start every configured MCP server, ping it and list its tools.") { script, store, mcpConfig };
        command.SetAction((parse, ct) => ListAsync(console, parse.GetValue(script), parse.GetValue(store)!, parse.GetValue(mcpConfig), ct));
        return command;
    }

    private static async Task<int> ListAsync(CliConsole console, string? script, string store, string? mcpConfig, CancellationToken cancellationToken)
    {
        var scriptDirectory = script is null ? Directory.GetCurrentDirectory() : Path.GetDirectoryName(Path.GetFullPath(script));
        var config = WorkflowHost.LoadMcpConfiguration(scriptDirectory, store, mcpConfig);
        if (config.Servers.Count == 0)
        {
            throw new CliException($"no MCP servers configured: no {McpConfiguration.FileName} in {scriptDirectory} or {Path.GetFullPath(store)}, and no --mcp-config");
        }

        await using var mcp = new McpCoordinator(config, TimeProvider.System, Logger.None);
        await mcp.StartAsync(cancellationToken);
        await mcp.CheckHealthAsync(cancellationToken);
        var rows = mcp.Servers
            .Select(s => (IReadOnlyList<string>)[
                s.Name,
                s.Config.Transport,
                s.Health.ToString().ToLowerInvariant(),
                s.Tools.Count == 0 ? "-" : string.Join(", ", s.Tools.Select(t => t.Name)),
            ])
            .ToList();
        TextTable.Write(console, ["SERVER", "TRANSPORT", "HEALTH", "TOOLS"], rows);
        foreach (var down in mcp.Servers.Where(s => s.Health != McpServerHealth.Healthy))
        {
            console.Error(down.LastError ?? $"MCP server '{down.Name}' is {down.Health.ToString().ToLowerInvariant()}");
        }

        console.Line($"from: {string.Join(", ", config.Sources)}; load balancing: {config.Balancing}");
        return mcp.Servers.All(s => s.Health == McpServerHealth.Healthy) ? ExitCodes.Success : ExitCodes.Failed;
    }
}
