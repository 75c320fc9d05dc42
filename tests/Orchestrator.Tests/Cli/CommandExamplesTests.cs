using System.Text;
using Orchestrator.Cli;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Cli;

/// <summary>The examples at the end of each command's help: shown, and each one a command line that parses.</summary>
public sealed class CommandExamplesTests
{
    [Fact]
    public async Task A_commands_help_ends_with_its_examples()
    {
        var help = await CliRunner.RunAsync("runs", "prune", "--help");

        help.ExitCode.Should().Be(0);
        help.Stdout.Should().Contain("Examples:\n  orchestrator runs prune --older-than 30d");
        var parent = await CliRunner.RunAsync("runs", "--help");
        parent.Stdout.Should().NotContain("runs prune --older-than", "a parent lists its commands without their examples");
    }

    [Fact]
    public void Every_example_names_a_command_and_parses_without_errors()
    {
        var root = CliApp.BuildCommands(new CliConsole(TextWriter.Null, TextWriter.Null));
        foreach (var (path, examples) in CommandExamples.ByCommand)
        {
            CommandExamples.Find(root, path).Should().NotBeNull($"'{path}' is a command");
            foreach (var example in examples)
            {
                var args = Split(example);
                args[0].Should().Be("orchestrator");
                var parsed = root.Parse(args[1..]);
                // The examples' folders need not exist where the tests run; everything else must parse.
                parsed.Errors.Select(e => e.Message).Where(m => !m.EndsWith("no such folder", StringComparison.Ordinal)).Should().BeEmpty(example);
                CommandExamples.PathOf(parsed.CommandResult).Should().Be(path, example);
            }
        }
    }

    [Fact]
    public void The_main_commands_have_examples()
    {
        CommandExamples.ByCommand.Keys.Should().Contain(["run", "resume", "runs", "serve", "repl", "approve", "signal", "schedule add", "init", "new workflow"]);
    }

    /// <summary>Splits a command line as a POSIX shell would for these examples: words, '…' and "…".</summary>
    private static string[] Split(string line)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        char? quote = null;
        foreach (var c in line)
        {
            if (quote is { } q)
            {
                if (c == q)
                {
                    quote = null;
                }
                else
                {
                    word.Append(c);
                }
            }
            else if (c is '\'' or '"')
            {
                quote = c;
                inWord = true;
            }
            else if (c == ' ')
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return [.. words];
    }
}
