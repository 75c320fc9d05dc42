using Orchestrator.Cli.Hosting;

namespace Orchestrator.Cli.Host;

/// <summary>What <c>orchestrator serve</c> was asked for.</summary>
internal sealed record HostSettings(string Store, string[] Urls, string ScriptsDirectory, string[] PluginDirectories)
{
    public const string DefaultUrl = "http://127.0.0.1:5180";

    /// <summary>The token every API call must carry; null to have the host make one (loopback addresses only).</summary>
    public string? Token { get; init; }

    public string? McpConfig { get; init; }

    public ConnectorFiles Connectors { get; init; } = ConnectorFiles.None;

    public bool Verbose { get; init; }

    /// <summary>The cluster's PostgreSQL database (<c>--cluster</c>); null for a host on its own.</summary>
    public string? Cluster { get; init; }

    /// <summary>This node's name in the cluster (<c>--node</c>; the machine's name and the process id by default).</summary>
    public string? Node { get; init; }

    /// <summary>The address other nodes reach this one at (<c>--node-address</c>); loopback by default.</summary>
    public string? NodeAddress { get; init; }

    /// <summary>How long a node may go unheard before the cluster declares it dead and takes its runs over.</summary>
    public TimeSpan FailureTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Refuses a non-loopback address without a token: anyone who can reach it could run scripts. Throws
    /// <see cref="CliException"/> naming the address.
    /// </summary>
    public void CheckExposure()
    {
        if (Token is not null)
        {
            if (Token.Length < 16)
            {
                throw new CliException("--token: use at least 16 characters");
            }

            return;
        }

        foreach (var url in Urls)
        {
            if (!IsLoopback(url))
            {
                throw new CliException($"--urls {url} is not a loopback address; serving beyond this machine needs --token");
            }
        }
    }

    /// <summary>Whether a Kestrel URL binds only to this machine (localhost, 127.0.0.0/8, ::1).</summary>
    public static bool IsLoopback(string url)
    {
        var authority = url.Contains("://", StringComparison.Ordinal) ? url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..] : url;
        var slash = authority.IndexOf('/');
        authority = slash >= 0 ? authority[..slash] : authority;
        string host;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']');
            host = close > 0 ? authority[1..close] : authority;
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon >= 0 ? authority[..colon] : authority;
        }

        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (System.Net.IPAddress.TryParse(host, out var address) && System.Net.IPAddress.IsLoopback(address));
    }
}
