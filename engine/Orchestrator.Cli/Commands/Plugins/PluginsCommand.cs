using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Plugins;
using Serilog.Core;

namespace Orchestrator.Cli.Commands.Plugins;

/// <summary><c>orchestrator plugins</c>: what the host can load, and from which DLL.</summary>
internal static class PluginsCommand
{
    public static Command Create(CliConsole console)
    {
        var plugins = CommonOptions.Plugins();
        var command = new Command("plugins", "List the agents and recovery strategies the host loads, with the DLL each came from; check that every plugin's dependencies load.") { plugins };
        command.SetAction(parse => List(console, parse.GetValue(plugins) ?? []));
        return command;
    }

    private static int List(CliConsole console, string[] directories)
    {
        using var host = PluginHost.Load([PluginHost.DefaultDirectory, .. directories], Logger.None);
        var rows = host.Plugins
            .OrderBy(p => p.Type, StringComparer.Ordinal)
            .ThenBy(p => p.Name, StringComparer.OrdinalIgnoreCase)
            .Select(p => new[] { p.Type, p.Name, p.AssemblyVersion ?? "", p.AssemblyPath })
            .ToList();
        TextTable.Write(console, ["TYPE", "NAME", "VERSION", "DLL"], rows);
        foreach (var error in host.Errors)
        {
            console.Error($"plugin not loaded: {error.Path}: {error.Message}");
        }

        var missing = host.CheckDependencies();
        foreach (var error in missing)
        {
            console.Error($"plugin dependency missing: {error.Path}: {error.Message}");
        }

        return host.Errors.Count == 0 && missing.Count == 0 ? ExitCodes.Success : ExitCodes.BadInput;
    }
}
