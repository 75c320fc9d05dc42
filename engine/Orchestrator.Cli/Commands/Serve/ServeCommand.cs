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
        var cluster = new Option<string?>("--cluster")
        {
            Description = "Join a cluster of hosts (Orleans) over this PostgreSQL database, which is also the store: postgres://user:pw@host/db or \"Host=…;Database=…\".",
        };
        var node = new Option<string?>("--node")
        {
            Description = "This node's name in the cluster (letters, digits, '_' and '.'; default: the machine's name and the process id).",
        };
        var nodeAddress = new Option<string?>("--node-address")
        {
            Description = "The IP address other nodes reach this one at (default 127.0.0.1: every node on this machine).",
        };
        var failureTimeout = new Option<double>("--failure-timeout")
        {
            Description = "Seconds a node may go unheard before the cluster declares it dead and other nodes take its runs over (default 10).",
            DefaultValueFactory = _ => 10,
        };
        var connectors = ConnectorFiles.ConnectorsOption();
        var secrets = ConnectorFiles.SecretsOption();
        var otlp = Telemetry.TelemetryOptions.Otlp();
        var otelConsole = Telemetry.TelemetryOptions.Console();
        var command = new Command("serve", "Serve the HTTP API: run many workflows at once with plugins, scripts and MCP servers kept warm.")
        {
            store, urls, scripts, plugins, token, connectors, secrets, mcpConfig, cluster, node, nodeAddress, failureTimeout, otlp, otelConsole, verbose,
        };
        command.SetAction((parse, ct) => Host.ServeRunner.ServeAsync(
            console,
            new Host.HostSettings(
                StoreFor(parse.GetValue(cluster), parse.GetValue(store)!, parse.GetResult(store)?.Implicit ?? true),
                SplitUrls(parse.GetValue(urls)),
                parse.GetValue(scripts) ?? Directory.GetCurrentDirectory(),
                parse.GetValue(plugins) ?? [])
            {
                Token = parse.GetValue(token),
                McpConfig = parse.GetValue(mcpConfig),
                Connectors = new ConnectorFiles(parse.GetValue(connectors), parse.GetValue(secrets)),
                Verbose = parse.GetValue(verbose),
                Cluster = parse.GetValue(cluster),
                Node = parse.GetValue(node),
                NodeAddress = parse.GetValue(nodeAddress),
                FailureTimeout = FailureTimeout(parse.GetValue(failureTimeout)),
            },
            parse.GetValue(otlp),
            parse.GetValue(otelConsole),
            ct));
        return command;
    }

    /// <summary>A node's store is its cluster's database: --store may be left out, or must name the same database.</summary>
    private static string StoreFor(string? cluster, string store, bool storeImplicit)
    {
        if (cluster is null)
        {
            return store;
        }

        if (!Core.Journal.Postgres.PostgresConnection.IsPostgres(cluster))
        {
            throw new CliException("--cluster: give a PostgreSQL database (postgres://user:pw@host/db or \"Host=…;Database=…\")");
        }

        if (!storeImplicit && !string.Equals(store, cluster, StringComparison.Ordinal))
        {
            throw new CliException("--store: a cluster node's store is the cluster's database; leave --store out with --cluster");
        }

        return cluster;
    }

    private static TimeSpan FailureTimeout(double seconds) =>
        seconds is >= 1 and <= 600 ? TimeSpan.FromSeconds(seconds) : throw new CliException($"--failure-timeout {seconds}: give 1 to 600 seconds");

    private static string[] SplitUrls(string[]? given)
    {
        var urls = (given ?? []).SelectMany(u => u.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
        return urls.Length > 0 ? urls : [Host.HostSettings.DefaultUrl];
    }
}
