using System.CommandLine;
using Orchestrator.Core.Connectors;
using Orchestrator.Core.Secrets;

namespace Orchestrator.Cli.Hosting;

/// <summary><c>--connectors FILE</c> and <c>--secrets FILE</c>, and where connectors are looked for without them.</summary>
internal sealed record ConnectorFiles(string? Connectors, string? Secrets)
{
    public static ConnectorFiles None { get; } = new(null, null);

    public static Option<string?> ConnectorsOption() => new("--connectors")
    {
        Description = "The connectors file; by default connectors.json next to the script, else in the store.",
    };

    public static Option<string?> SecretsOption() => new("--secrets")
    {
        Description = "A JSON file of secrets for ${secret:NAME} references; by default the connectors file's \"secretsFile\".",
    };

    /// <summary>
    /// The connectors of <c>--connectors</c>, else of <c>connectors.json</c> beside the script, else in the store, else
    /// none (a script may still define its own). Bad files are bad input, named with their line.
    /// </summary>
    public static ConnectorSet Load(ConnectorFiles files, string? scriptPath, string storeDirectory, SecretRegistry secrets)
    {
        var path = files.Connectors is { } given
            ? Path.GetFullPath(given)
            : new[] { scriptPath is null ? null : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(scriptPath))!, ConnectorSet.FileName), Path.Combine(Path.GetFullPath(storeDirectory), ConnectorSet.FileName) }
                .FirstOrDefault(p => p is not null && File.Exists(p));
        try
        {
            return path is null
                ? ConnectorSet.Empty(ConnectorSet.Resolver(files.Secrets, secrets, Environment.GetEnvironmentVariable), TimeProvider.System)
                : ConnectorSet.Load(path, files.Secrets, secrets, Environment.GetEnvironmentVariable, TimeProvider.System);
        }
        catch (Exception ex) when (ex is ConnectorConfigException or SecretException)
        {
            throw new CliException(ex.Message);
        }
    }
}
