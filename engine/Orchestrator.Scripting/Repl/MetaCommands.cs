using Orchestrator.Core.Workflow;

namespace Orchestrator.Scripting.Repl;

/// <summary>What a meta-command works on.</summary>
internal sealed record MetaContext(ReplSession Session, IReplLanguage Language, WorkflowScope Root, string Argument);

/// <summary>A line of the session's own, such as <c>#load file.csx</c>; returns false to end the session.</summary>
internal abstract class MetaCommand(string name, string usage, string help)
{
    public string Name { get; } = name;

    public string Usage { get; } = usage;

    public string Help { get; } = help;

    public abstract Task<bool> ExecuteAsync(MetaContext context, CancellationToken cancellationToken);
}

/// <summary>The REPL's meta-commands; any other line, <c>#r</c> included, goes to the language.</summary>
internal static class MetaCommands
{
    public static IReadOnlyList<MetaCommand> All { get; } = [new Help(), new Agents(), new Load(), new History(), new Reset(), new Exit()];

    /// <summary>The meta-command a line calls, with the rest of the line as its argument.</summary>
    public static (MetaCommand Command, string Argument)? Find(string line)
    {
        var text = line.Trim();
        if (!text.StartsWith('#'))
        {
            return null;
        }

        var space = text.IndexOfAny([' ', '\t']);
        var name = space < 0 ? text[1..] : text[1..space];
        var command = All.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.Ordinal));
        return command is null ? null : (command, space < 0 ? "" : text[(space + 1)..].Trim());
    }

    private sealed class Help() : MetaCommand("help", "#help", "this help")
    {
        public override Task<bool> ExecuteAsync(MetaContext context, CancellationToken cancellationToken)
        {
            var output = context.Session.Output;
            output.WriteLine($"{context.Language.Name} with the workflow DSL; every verb is a step journaled in run {context.Root.RunId}.");
            output.WriteLine(context.Language.Name == "C#"
                ? "  await Agent(\"shell\").RunAsync(new { command = \"uname\" })   Step(\"name\", () => value)   Parallel(...)   Handoff(...)"
                : "  await agent(\"shell\").run({ command: \"uname\" })   step(\"name\", () => value)   parallel(...)   handoff(...)");
            output.WriteLine("  A statement left open (a brace, a parenthesis) continues on the next line; an expression prints its value.");
            output.WriteLine("  Ctrl+C cancels the running submission.");
            foreach (var command in All)
            {
                output.WriteLine($"  {command.Usage,-16}{command.Help}");
            }

            return Task.FromResult(true);
        }
    }

    private sealed class Agents() : MetaCommand("agents", "#agents", "the agents and recovery strategies loaded from the plugins")
    {
        public override Task<bool> ExecuteAsync(MetaContext context, CancellationToken cancellationToken)
        {
            var output = context.Session.Output;
            output.WriteLine("agents: " + List(context.Root.AgentKinds));
            output.WriteLine("recovery strategies: " + List(context.Root.StrategyNames));
            return Task.FromResult(true);
        }

        private static string List(IEnumerable<string> names) =>
            names.Any() ? string.Join(", ", names.Order(StringComparer.Ordinal)) : "(none)";
    }

    private sealed class Load() : MetaCommand("load", "#load FILE", "run a script file in this session (its definitions stay)")
    {
        public override async Task<bool> ExecuteAsync(MetaContext context, CancellationToken cancellationToken)
        {
            var path = Path.GetFullPath(context.Argument.Trim('"'));
            if (context.Argument.Length == 0 || !File.Exists(path))
            {
                context.Session.Output.WriteLine(context.Argument.Length == 0 ? "error: #load needs a file" : $"error: #load: file not found: {path}");
                return true;
            }

            context.Session.History.Add("#load " + context.Argument);
            var code = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
            await context.Session.SubmitAsync(context.Language, code, path, cancellationToken).ConfigureAwait(false);
            return true;
        }
    }

    private sealed class History() : MetaCommand("history", "#history", "the earlier submissions, oldest first")
    {
        public override Task<bool> ExecuteAsync(MetaContext context, CancellationToken cancellationToken)
        {
            var entries = context.Session.History.Entries;
            for (var i = 0; i < entries.Count; i++)
            {
                context.Session.Output.WriteLine($"{i + 1,4}  {entries[i].ReplaceLineEndings("\n      ")}");
            }

            return Task.FromResult(true);
        }
    }

    private sealed class Reset() : MetaCommand("reset", "#reset", "forget every variable and function defined so far (the run goes on)")
    {
        public override Task<bool> ExecuteAsync(MetaContext context, CancellationToken cancellationToken)
        {
            context.Language.Reset();
            context.Session.Output.WriteLine("state cleared");
            return Task.FromResult(true);
        }
    }

    private sealed class Exit() : MetaCommand("exit", "#exit", "end the session and its run (so does the end of input, Ctrl+D)")
    {
        public override Task<bool> ExecuteAsync(MetaContext context, CancellationToken cancellationToken) => Task.FromResult(false);
    }
}
