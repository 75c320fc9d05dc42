using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Secrets;

namespace Orchestrator.Cli.Commands.Connectors;

/// <summary><c>orchestrator connectors</c>: the declared connectors and the outcome of each one's health check, checked concurrently.</summary>
internal static class ConnectorsCommand
{
    public static Command Create(CliConsole console)
    {
        var store = CommonOptions.Store();
        var connectors = ConnectorFiles.ConnectorsOption();
        var secrets = ConnectorFiles.SecretsOption();
        var script = new Option<string?>("--script") { Description = "Look for connectors.json next to this script (as 'run' does)." };
        var command = new Command("connectors", "List the declared connectors and check their health; exit 1 if any is unhealthy.") { connectors, secrets, script, store };
        command.SetAction((parse, ct) => CheckAsync(console, new ConnectorFiles(parse.GetValue(connectors), parse.GetValue(secrets)), parse.GetValue(script), parse.GetValue(store)!, ct));
        return command;
    }

    private static async Task<int> CheckAsync(CliConsole console, ConnectorFiles files, string? script, string store, CancellationToken cancellationToken)
    {
        // The registry masks a secret that a health check's detail echoes, since this output is often pasted into tickets.
        var secrets = new SecretRegistry();
        await using var set = ConnectorFiles.Load(files, script, store, secrets);
        if (set.Names.Count == 0)
        {
            console.Line("no connectors declared (connectors.json next to the script or in the store, or --connectors FILE)");
            return ExitCodes.Success;
        }

        var checks = set.Names.Select(async name =>
        {
            var connector = set.Get(name);
            return (connector, health: await connector.CheckHealthAsync(cancellationToken));
        });
        var results = await Task.WhenAll(checks);
        TextTable.Write(console, ["NAME", "TYPE", "TARGET", "HEALTH", "MS", "DETAIL"], [.. results.Select(r => (IReadOnlyList<string>)
        [
            r.connector.Name,
            r.connector.Type,
            r.connector.Target,
            r.health.Healthy ? "healthy" : "unhealthy",
            r.health.LatencyMs.ToString("0.#", CultureInfo.InvariantCulture),
            secrets.Redact(r.health.Detail ?? ""),
        ])]);
        return results.All(r => r.health.Healthy) ? ExitCodes.Success : ExitCodes.Failed;
    }
}
