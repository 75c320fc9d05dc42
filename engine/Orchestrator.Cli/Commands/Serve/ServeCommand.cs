using System.CommandLine;
using Orchestrator.Cli.Hosting;

namespace Orchestrator.Cli.Commands.Serve;

/// <summary>
/// <c>orchestrator serve</c>: the long-lived host (HTTP API over Kestrel) that runs many workflows at once. The
/// command's options live here, the host in <c>Host/</c>: building this command never loads ASP.NET Core, so the
/// other verbs start as fast as before.
/// </summary>
internal static class ServeCommand
{
    public static Command Create(CliConsole console)
    {
        var store = CommonOptions.Store();
        var plugins = CommonOptions.Plugins();
        var verbose = CommonOptions.Verbose();
        var mcpConfig = CommonOptions.McpConfig();
        var urls = new Option<string[]>("--urls")
        {
            Description = $"The addresses to listen on ({Host.HostSettings.DefaultUrl} by default); ';'-separated or repeated. Anything but loopback needs --token.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var scripts = new Option<string?>("--scripts")
        {
            Description = "The folder whose scripts clients may run (default: the current folder); a script outside it is refused.",
        };
        var token = new Option<string?>("--token")
        {
            Description = "The token every API call must carry (Authorization: Bearer). Without it the host makes one and writes it to host.json in the store, readable only by you.",
        };
        var connectors = ConnectorFiles.ConnectorsOption();
        var secrets = ConnectorFiles.SecretsOption();
        var otlp = Telemetry.TelemetryOptions.Otlp();
        var otelConsole = Telemetry.TelemetryOptions.Console();
        var command = new Command("serve", "Serve the HTTP API: run many workflows at once with plugins, scripts and MCP servers kept warm.")
        {
            store, urls, scripts, plugins, token, connectors, secrets, mcpConfig, otlp, otelConsole, verbose,
        };
        command.SetAction((parse, ct) => Host.ServeRunner.ServeAsync(
            console,
            new Host.HostSettings(
                parse.GetValue(store)!,
                SplitUrls(parse.GetValue(urls)),
                parse.GetValue(scripts) ?? Directory.GetCurrentDirectory(),
                parse.GetValue(plugins) ?? [])
            {
                Token = parse.GetValue(token),
                McpConfig = parse.GetValue(mcpConfig),
                Connectors = new ConnectorFiles(parse.GetValue(connectors), parse.GetValue(secrets)),
                Verbose = parse.GetValue(verbose),
            },
            parse.GetValue(otlp),
            parse.GetValue(otelConsole),
            ct));
        return command;
    }

    private static string[] SplitUrls(string[]? given)
    {
        var urls = (given ?? []).SelectMany(u => u.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
        return urls.Length > 0 ? urls : [Host.HostSettings.DefaultUrl];
    }
}
