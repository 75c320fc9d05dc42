using System.CommandLine;

namespace Orchestrator.Cli.Hosting;

/// <summary>Options shared by several verbs.</summary>
internal static class CommonOptions
{
    public const string DefaultStore = ".orchestrator";

    public static Option<string> Store() => new("--store")
    {
        Description = "The store folder (journal, reports, logs).",
        DefaultValueFactory = _ => DefaultStore,
    };

    public static Option<string[]> Plugins() => new("--plugins")
    {
        Description = "A folder to load plugins from, besides the host's own plugins folder. Repeatable.",
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    public static Option<bool> Verbose() => new("--verbose", "-v")
    {
        Description = "Log to the console (stderr) as well as to the store's log file.",
    };
}
