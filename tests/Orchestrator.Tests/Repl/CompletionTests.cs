using System.Text;
using Orchestrator.Scripting.Repl;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Repl;

/// <summary>Tab completion: Roslyn's completion service over the workflow globals, driven through the terminal line editor's keys.</summary>
public sealed class CompletionTests
{
    [Fact]
    public async Task The_completion_service_knows_the_workflow_globals_and_earlier_submissions()
    {
        var completion = new CSharpCompletion();

        (await completion.CompleteAsync("", "Agent(\"shell\").Ru", 17, CancellationToken.None)).Should().Contain("RunAsync");
        (await completion.CompleteAsync("var greeting = \"hi\";\n", "greet", 5, CancellationToken.None)).Should().Contain("greeting");
        (await completion.CompleteAsync("", "Paral", 5, CancellationToken.None)).Should().Contain("Parallel");
    }

    [Fact]
    public async Task Tab_at_the_terminal_completes_Agent_Ru_to_RunAsync()
    {
        using var dir = new TempDirectory();
        var completion = new CSharpCompletion();
        var keys = new Queue<ConsoleKeyInfo>("Agent(\"shell\").Ru".Select(c => new ConsoleKeyInfo(c, ConsoleKey.NoName, false, false, false)));
        keys.Enqueue(new ConsoleKeyInfo('\t', ConsoleKey.Tab, false, false, false));
        keys.Enqueue(new ConsoleKeyInfo('\r', ConsoleKey.Enter, false, false, false));
        var screen = new StringWriter(new StringBuilder());
        var reader = new TerminalLineReader(new ReplHistory(Path.Combine(dir.Path, "history")), screen, keys.Dequeue)
        {
            Completer = (line, position, ct) => completion.CompleteAsync("", line, position, ct),
        };

        var line = await reader.ReadLineAsync("> ", CancellationToken.None);

        line.Should().Be("Agent(\"shell\").RunAsync");
    }
}
