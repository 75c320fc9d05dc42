using System.CommandLine;

namespace Orchestrator.Cli.Hosting;

/// <summary>Options shared by several verbs.</summary>
internal static class CommonOptions
{
    public const string DefaultStore = ".orchestrator";

    public static Option<string> Store() => new("--store")
    {
        Description = "The store folder (journal, reports, logs), or a PostgreSQL database: postgres://user:pw@host/db or \"Host=…;Database=…\".",
        DefaultValueFactory = _ => DefaultStore,
    };

    public static Option<string[]> Plugins()
    {
        var option = new Option<string[]>("--plugins")
        {
            Description = "A folder to load plugins from, besides the host's own plugins folder. Repeatable.",
            Arity = ArgumentArity.ZeroOrMore,
            AllowMultipleArgumentsPerToken = false,
        };

        // A mistyped folder would otherwise load nothing, silently, and the run fail later on an unknown agent.
        option.Validators.Add(result =>
        {
            foreach (var folder in result.GetValueOrDefault<string[]>() ?? [])
            {
                if (!Directory.Exists(folder))
                {
                    result.AddError(File.Exists(folder)
                        ? $"--plugins {folder}: a file, not a folder: give the folder the plugin's DLL is in"
                        : $"--plugins {folder}: no such folder");
                }
            }
        });
        return option;
    }

    public static Option<bool> Json() => new("--json")
    {
        Description = "Print one JSON object with the outcome as the last line of output.",
    };

    public static Option<bool> WatchPlugins() => new("--watch-plugins")
    {
        Description = "Reload a plugin whose DLL is replaced during the run, between steps (the journal notes the new version).",
    };

    public static Option<bool> Quiet() => new("--quiet", "-q")
    {
        Description = "Print only the run's result (errors still go to stderr); no progress.",
    };

    public static Option<string?> Timeout() => new("--timeout")
    {
        Description = "Fail the run if it has not finished after this long: 90s, 30m, 2h.",
    };

    /// <summary>Reads 45s, 90m, 12h or 30d; null stays null.</summary>
    public static TimeSpan? ParseDuration(string? text, string option)
    {
        if (text is null)
        {
            return null;
        }

        var unit = text.Length > 1 ? text[^1] : ' ';
        if (double.TryParse(text[..^1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) && value > 0)
        {
            switch (unit)
            {
                case 's': return TimeSpan.FromSeconds(value);
                case 'm': return TimeSpan.FromMinutes(value);
                case 'h': return TimeSpan.FromHours(value);
                case 'd': return TimeSpan.FromDays(value);
            }
        }

        throw new CliException($"{option}: '{text}' is not a duration; use a positive number with s, m, h or d (90s, 30m, 12h, 30d)");
    }

    public static Option<string?> McpConfig() => new("--mcp-config")
    {
        Description = "An mcp.json of MCP servers, on top of the ones next to the script and in the store folder.",
    };

    public static Option<bool> NoCache() => new("--no-cache")
    {
        Description = "Bypass the store's caches: compile a .csx script afresh and load every plugin now (neither cache is updated).",
    };

    public static Option<bool> Verbose() => new("--verbose", "-v")
    {
        Description = "Log to the console (stderr) as well as to the store's log file.",
    };
}
