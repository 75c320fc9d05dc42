using System.Text.RegularExpressions;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Repl;

/// <summary>The real <c>orchestrator repl</c> process, fed a whole session through its standard input.</summary>
public sealed class ReplSessionTests
{
    private const string CSharpSession = """
        var name = "world";
        var greeting = await Agent("shell").RunAsync(new { command = "echo", args = new[] { $"hello, {name}" } }, name: "greet");
        greeting!["stdout"]!.GetValue<string>().Trim()
        Func<int, int> square = x =>
        {
            var y = x * x;
            return y;
        };
        square(7)
        #load lib.csx
        Twice(21) + loaded.Length
        var broken = 1;
        if (name.Length > 0)
        {
            broken = undefinedThing + 1;
        }
        await Agent("shell").RunAsync(new { command = "false" }, name: "fails");
        name.ToUpperInvariant()
        #agents
        #reset
        square(2)
        "still here"
        """;

    private const string JavaScriptSession = """
        const name = "world";
        const greeting = await agent("shell").run({ command: "echo", args: [`hello, ${name}`] }, "greet");
        greeting.stdout.trim()
        const square = (x) => {
          const y = x * x;
          return y;
        };
        square(7)
        #load lib.js
        twice(21) + loaded.length
        let broken = 1;
        if (name.length > 0) {
          broken = undefinedThing + 1;
        }
        await agent("shell").run({ command: "false" }, "fails");
        name.toUpperCase()
        #agents
        #reset
        typeof square
        "still here"
        """;

    [Fact]
    public async Task A_piped_CSharp_session_keeps_state_runs_agents_loads_scripts_goes_on_after_errors_and_ends_failed()
    {
        using var dir = new TempDirectory();
        dir.Write("lib.csx", "int Twice(int n) => n * 2;\nvar loaded = \"yes\";\n");

        var (result, steps) = await RunSessionAsync(dir, CSharpSession);

        result.ExitCode.Should().Be(1, "three submissions failed, so the session's run failed: " + result);
        result.Stderr.Should().MatchRegex(@"run \S+ failed: 3 of 1\d submissions failed");
        Lines(result.Stdout).Should().ContainInOrder(
            "\"hello, world\"",
            "49",
            "45",
            "error: repl(3,14): error CS0103: The name 'undefinedThing' does not exist in the current context",
            "error: repl(1): step 'fails' failed: false exited with code 1",
            "\"WORLD\"",
            "agents: http, llm, mcp, shell",
            "state cleared",
            "error: repl(1,1): error CS0103: The name 'square' does not exist in the current context",
            "\"still here\"");
        steps.Should().Contain("greet").And.Contain("fails");
    }

    [Fact]
    public async Task A_piped_JavaScript_session_keeps_state_runs_agents_loads_scripts_goes_on_after_errors_and_ends_failed()
    {
        using var dir = new TempDirectory();
        dir.Write("lib.js", "function twice(n) { return n * 2; }\nconst loaded = \"yes\";\n");

        var (result, steps) = await RunSessionAsync(dir, JavaScriptSession, "--js");

        result.ExitCode.Should().Be(1, "two submissions failed, so the session's run failed: " + result);
        result.Stderr.Should().MatchRegex(@"run \S+ failed: 2 of 1\d submissions failed");
        Lines(result.Stdout).Should().ContainInOrder(
            "\"hello, world\"",
            "49",
            "45",
            "error: repl(2): ReferenceError: undefinedThing is not defined",
            "error: repl(1): step 'fails' failed: false exited with code 1",
            "\"WORLD\"",
            "agents: http, llm, mcp, shell",
            "state cleared",
            "\"undefined\"",
            "\"still here\"");
        steps.Should().Contain("greet").And.Contain("fails");
    }

    [Theory]
    [InlineData("")]
    [InlineData("--js")]
    public async Task An_error_in_a_loaded_script_names_the_file_and_its_line(string language)
    {
        using var dir = new TempDirectory();
        var script = language == "--js"
            ? dir.Write("bad.js", "const ok = 1;\nthrow new Error(\"broken on line two\");\n")
            : dir.Write("bad.csx", "var ok = 1;\nthrow new InvalidOperationException(\"broken on line two\");\n");

        var (result, _) = await RunSessionAsync(dir, $"#load {Path.GetFileName(script)}\n1 + 1\n", language);

        Lines(result.Stdout).Should().ContainInOrder($"error: {script}(2): {(language == "--js" ? "Error: " : "")}broken on line two", "2");
    }

    [Theory]
    [InlineData("", "await Agent(\"shell\").RunAsync(new { script = \"touch started; sleep 600\" });", "\"after\"")]
    [InlineData("--js", "await agent(\"shell\").run({ script: \"touch started; sleep 600\" });", "\"after\"")]
    public async Task Ctrl_C_cancels_the_running_submission_and_the_session_goes_on(string language, string longSubmission, string next)
    {
        using var dir = new TempDirectory();
        var args = new List<string> { "repl", "--store", Path.Combine(dir.Path, "store") };
        if (language.Length > 0)
        {
            args.Add(language);
        }

        using var repl = OrchestratorProcess.StartWithInput(dir.Path, $"{longSubmission}\n\"after\"\n", [.. args]);
        await repl.WaitUntilAsync(() => File.Exists(Path.Combine(dir.Path, "started")), "the long submission to start");
        repl.Interrupt();
        var result = await repl.WaitForExitAsync();

        result.ExitCode.Should().Be(0, result.ToString());
        Lines(result.Stdout).Should().ContainInOrder("cancelled", next);
    }

    [Fact]
    public async Task SIGTERM_ends_the_session_as_a_cancelled_run_without_a_resume_hint()
    {
        using var dir = new TempDirectory();
        using var repl = OrchestratorProcess.StartWithInput(
            dir.Path, "await Agent(\"shell\").RunAsync(new { script = \"touch started; sleep 600\" });\n", "repl", "--store", Path.Combine(dir.Path, "store"));
        await repl.WaitUntilAsync(() => File.Exists(Path.Combine(dir.Path, "started")), "the long submission to start");
        repl.Terminate();
        var result = await repl.WaitForExitAsync();

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain("cancelled");
        result.Stdout.Should().NotContain("resume with", "a session's input was the terminal, so there is nothing to replay");
    }

    [Fact]
    public async Task History_lists_the_submissions_of_earlier_sessions_in_the_same_store()
    {
        using var dir = new TempDirectory();
        await RunSessionAsync(dir, "var first = 1;\nvar second =\n    2;\n");

        var (result, _) = await RunSessionAsync(dir, "#history\n");

        Lines(result.Stdout).Should().ContainInOrder("   1  var first = 1;", "   2  var second =", "          2;");
    }

    [Theory]
    [InlineData("", "var numbers = new[] {\n#agents\n1, 2 };\nnumbers.Length\n", "2")]
    [InlineData("--js", "const numbers = [\n#agents\n1, 2];\nnumbers.length\n", "2")]
    public async Task A_meta_command_on_a_continuation_line_runs_and_the_submission_goes_on(string language, string input, string value)
    {
        using var dir = new TempDirectory();

        var (result, _) = await RunSessionAsync(dir, input, language);

        result.ExitCode.Should().Be(0, result.ToString());
        Lines(result.Stdout).Should().ContainInOrder("agents: http, llm, mcp, shell", value);
        result.Stdout.Should().NotContain("error");
    }

    [Fact]
    public async Task A_statement_without_its_semicolon_gets_a_hint_instead_of_a_silent_prompt()
    {
        using var dir = new TempDirectory();

        var (result, _) = await RunSessionAsync(dir, "var total = 40 + 2\n;\ntotal\n");

        result.ExitCode.Should().Be(0, result.ToString());
        Lines(result.Stdout).Should().ContainInOrder("(';' expected: the statement goes on until it ends with ';')", "42");
    }

    [Fact]
    public async Task A_js_session_shows_an_export_default_value_and_refuses_other_exports_in_one_line()
    {
        using var dir = new TempDirectory();
        dir.Write("flow.js", "export default { total: twice(21) };\nfunction twice(n) { return n * 2; }\nconst after = \"ran\";\n");
        const string Session = """
            #load flow.js
            after
            export default 1 + 1;
            export default 1; export default 2;
            import fs from "fs";
            await import("fs")
            "still here"
            """;

        var (result, _) = await RunSessionAsync(dir, Session, "--js");

        Lines(result.Stdout).Should().ContainInOrder(
            "{",
            "  \"total\": 42",
            "}",
            "\"ran\"",
            "2",
            "error: repl(1,26): error: Duplicate export of 'default'",
            "error: repl(1,1): error: import is not supported: a JavaScript workflow has no modules or packages, only the engine's globals",
            "error: repl(1,7): error: import() is not supported: a JavaScript workflow has no modules or packages, only the engine's globals",
            "\"still here\"");
    }

    [Fact]
    public async Task A_session_whose_submissions_all_succeed_ends_succeeded()
    {
        using var dir = new TempDirectory();

        var (result, _) = await RunSessionAsync(dir, "var a = 1;\na + 1\n");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().MatchRegex(@"run \S+ succeeded");
    }

    private static async Task<(CliResult Result, string Steps)> RunSessionAsync(TempDirectory dir, string input, string language = "")
    {
        var store = Path.Combine(dir.Path, "store");
        var args = new List<string> { "repl", "--store", store };
        if (language.Length > 0)
        {
            args.Add(language);
        }

        using var repl = OrchestratorProcess.StartWithInput(dir.Path, input.ReplaceLineEndings("\n") + "\n", [.. args]);
        var result = await repl.WaitForExitAsync();

        // The session is a run like any other: its steps are in the journal.
        var runId = Regex.Match(result.Stdout, @"^run (\S+) (succeeded|failed)", RegexOptions.Multiline).Groups[1].Value;
        var show = runId.Length == 0 ? new CliResult(1, "", "") : await CliRunner.RunAsync("runs", "show", runId, "--store", store);
        return (result, show.Stdout);
    }

    private static List<string> Lines(string text) => [.. text.Split('\n').Select(l => l.TrimEnd())];
}
