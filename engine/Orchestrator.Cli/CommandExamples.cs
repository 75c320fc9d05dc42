using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Orchestrator.Cli;

/// <summary>
/// A few examples at the end of each command's help, in one table so that each command's code stays about its options
/// and arguments. A test checks that every entry names a command that exists.
/// </summary>
internal static class CommandExamples
{
    /// <summary>Examples by command path (<c>runs show</c>); each is a line a user can paste.</summary>
    internal static readonly IReadOnlyDictionary<string, string[]> ByCommand = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["run"] =
        [
            "orchestrator run scripts/hello.csx",
            "orchestrator run scripts/phases.js --input '{\"dir\":\"scripts\",\"files\":[\"hello.js\"]}' --json",
            "orchestrator run flows/build.csx --timeout 30m --no-host",
        ],
        ["resume"] = ["orchestrator resume 20261205-031500-1a2b3c", "orchestrator resume 20261205-031500-1a2b3c --force"],
        ["runs"] = ["orchestrator runs", "orchestrator runs --store postgres://orchestrator@db/orchestrator"],
        ["runs show"] = ["orchestrator runs show 20261205-031500-1a2b3c", "orchestrator runs show 20261205-031500-1a2b3c --step deploy"],
        ["runs prune"] = ["orchestrator runs prune --older-than 30d", "orchestrator runs prune --older-than 7d --keep 100"],
        ["runs verify"] = ["orchestrator runs verify 20261205-031500-1a2b3c", "orchestrator runs verify --all"],
        ["runs fork"] = ["orchestrator runs fork 20261205-031500-1a2b3c --at deploy", "orchestrator runs fork 20261205-031500-1a2b3c --at build --input '{\"branch\":\"fix\"}'"],
        ["runs diff"] = ["orchestrator runs diff 20261205-031500-1a2b3c 20261205-041500-4d5e6f --json"],
        ["report"] = ["orchestrator report 20261205-031500-1a2b3c", "orchestrator report 20261205-031500-1a2b3c --format html --out report.html"],
        ["stats"] = ["orchestrator stats", "orchestrator stats --phase checksum"],
        ["store check"] = ["orchestrator store check --store .orchestrator"],
        ["store salvage"] = ["orchestrator store salvage --store .orchestrator --out rescued"],
        ["review"] = ["orchestrator review"],
        ["review approve"] = ["orchestrator review approve 3", "orchestrator review approve 20261205-031500-1a2b3c release"],
        ["approve"] = ["orchestrator approve 20261205-031500-1a2b3c", "orchestrator approve 20261205-031500-1a2b3c release --comment \"checked the diff\" --resume"],
        ["signal"] = ["orchestrator signal 20261205-031500-1a2b3c healthy --data '{\"status\":\"green\"}'"],
        ["schedule add"] = ["orchestrator schedule add scripts/hello.csx --cron \"0 3 * * *\"", "orchestrator schedule add flows/report.js --cron \"*/15 * * * *\" --name quarter-hourly"],
        ["schedule list"] = ["orchestrator schedule list"],
        ["plugins"] = ["orchestrator plugins", "orchestrator plugins --plugins ./my-plugins"],
        ["mcp list"] = ["orchestrator mcp list scripts/mcp.csx"],
        ["mcp serve"] = ["orchestrator mcp serve --scripts ./flows"],
        ["serve"] = ["orchestrator serve", "orchestrator serve --urls http://127.0.0.1:5180 --scripts ./flows"],
        ["repl"] = ["orchestrator repl", "orchestrator repl --js"],
        ["new workflow"] = ["orchestrator new workflow nightly", "orchestrator new workflow nightly --js"],
        ["init"] = ["orchestrator init", "orchestrator init flows --force"],
    };

    /// <summary>Makes help end with the command's examples (not in its description, which the parent's list shows too).</summary>
    public static void AddTo(Command root)
    {
        foreach (var help in root.Options.OfType<HelpOption>())
        {
            if (help.Action is SynchronousCommandLineAction action)
            {
                help.Action = new HelpWithExamples(action);
            }
        }
    }

    /// <summary>The path of a parsed command below the root: <c>runs show</c>.</summary>
    internal static string PathOf(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new Stack<string>();
        for (var at = result; at.Parent is System.CommandLine.Parsing.CommandResult parent; at = parent)
        {
            names.Push(at.Command.Name);
        }

        return string.Join(' ', names);
    }

    /// <summary>The command at <paramref name="path"/> (<c>runs show</c>) under <paramref name="root"/>, or null.</summary>
    internal static Command? Find(Command root, string path)
    {
        var command = root;
        foreach (var name in path.Split(' '))
        {
            command = command.Subcommands.FirstOrDefault(c => c.Name == name);
            if (command is null)
            {
                return null;
            }
        }

        return command;
    }

    private sealed class HelpWithExamples(SynchronousCommandLineAction help) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => help.ClearsParseErrors;

        public override int Invoke(ParseResult parseResult)
        {
            var code = help.Invoke(parseResult);
            if (ByCommand.TryGetValue(PathOf(parseResult.CommandResult), out var examples))
            {
                var output = parseResult.InvocationConfiguration.Output;
                output.WriteLine("Examples:");
                foreach (var example in examples)
                {
                    output.WriteLine("  " + example);
                }

                output.WriteLine();
            }

            return code;
        }
    }
}
