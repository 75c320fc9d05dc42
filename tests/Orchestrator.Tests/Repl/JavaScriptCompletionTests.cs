using System.Text;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.JavaScript;
using Orchestrator.Scripting.Repl;
using Orchestrator.Tests.JavaScript;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.Repl;

/// <summary>Tab in <c>repl --js</c>: a real session on the engine, its keys typed through the terminal line editor.</summary>
public sealed class JavaScriptCompletionTests
{
    [Fact]
    public async Task Tab_completes_globals_declared_names_DSL_handles_and_members_of_bound_objects()
    {
        var (submitted, _) = await JsSessionAsync(
            "const greeting = 1;\n" +
            "gree\t\n" +
            "agent(\"shell\").r\t\n" +
            "mcp.t\t\n" +
            "Mat\t.fl\t(2.5)\n" +
            "phas\t\n");

        submitted.Should().Equal("const greeting = 1;", "greeting", "agent(\"shell\").run", "mcp.tools", "Math.floor(2.5)", "phase");
    }

    [Fact]
    public async Task Tab_with_several_candidates_lists_them()
    {
        var (_, screen) = await JsSessionAsync("val\t\t\n");

        screen.Should().Contain("validate  validateResult");
    }

    /// <summary>Types <paramref name="typed"/> (\t is Tab, \n Enter) into a JS session, then Ctrl+D; returns what was submitted and the screen.</summary>
    private static async Task<(IReadOnlyList<string> Submitted, string Screen)> JsSessionAsync(string typed)
    {
        using var dir = new TempDirectory();
        var keys = new Queue<ConsoleKeyInfo>(typed.Select(c => c switch
        {
            '\t' => new ConsoleKeyInfo('\t', ConsoleKey.Tab, false, false, false),
            '\n' => new ConsoleKeyInfo('\r', ConsoleKey.Enter, false, false, false),
            _ => new ConsoleKeyInfo(c, ConsoleKey.NoName, false, false, false),
        }));
        keys.Enqueue(new ConsoleKeyInfo('\u0004', ConsoleKey.D, false, false, true));
        var screen = new StringWriter(new StringBuilder());
        var history = new ReplHistory(null);
        var session = new ReplSession(new TerminalLineReader(history, screen, keys.Dequeue), screen, history);
        var program = new ReplProgram(session, javaScript: true, dir.Path, JavaScriptOptions.Default, Logger.None);
        var engine = new WorkflowEngine(new InMemoryJournal(), new AgentRegistry([new JsEchoAgent()]), reports: null, TimeProvider.System, Logger.None);

        var outcome = await engine.RunAsync(program, input: null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, screen.ToString());
        return (history.Entries, screen.ToString());
    }
}
