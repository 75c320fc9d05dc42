using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Journal;
using Orchestrator.Scripting;

namespace Orchestrator.Tests.JavaScript;

/// <summary><c>export default value;</c> at a .js workflow's top level: the run's result, in syntax TypeScript accepts.</summary>
public sealed class JavaScriptDefaultExportTests : IDisposable
{
    private readonly CountingAgent _counted = new();
    private readonly JsHarness _h;

    public JavaScriptDefaultExportTests() => _h = new JsHarness(_counted);

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task The_export_default_value_is_the_runs_result()
    {
        var run = await _h.RunAsync("""
            const a = await agent('echo').run({ n: 41 }, 'a');
            export default { answer: a.n + 1, runId };
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Json().Should().Be($$"""{"answer":42,"runId":"{{run.Run.Id}}"}""");
    }

    [Fact]
    public async Task An_export_default_promise_is_awaited_like_a_returned_one()
    {
        var run = await _h.RunAsync("export default agent('echo').run('later', 'a');\n");

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Json().Should().Be("\"later\"");
    }

    [Fact]
    public async Task Statements_after_export_default_still_run_as_in_a_module_and_functions_below_are_hoisted()
    {
        var run = await _h.RunAsync("""
            export default await main();
            await agent('echo').run('after', 'after');
            async function main() { return (await agent('echo').run(1, 'main')) + 1; }
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Json().Should().Be("2");
        run.Ids.Should().Equal("main", "after");
    }

    [Fact]
    public async Task A_return_still_ends_the_run_early_with_its_own_value()
    {
        const string Source = "if (input?.early) return 'early';\nexport default 'late';\n";

        (await _h.RunAsync(Source, JsonNode.Parse("""{"early":true}"""))).Json().Should().Be("\"early\"");
        (await _h.RunAsync(Source)).Json().Should().Be("\"late\"");
    }

    [Fact]
    public async Task A_failure_in_the_exported_expression_names_its_line()
    {
        var run = await _h.RunAsync("const a = 1;\n\nexport default await agent('fail').run({ message: 'no' }, 'x');\n");

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().Be($"{run.ScriptPath}(3): step 'x' failed: no");
    }

    [Fact]
    public async Task A_runtime_error_after_an_export_default_names_its_line()
    {
        var run = await _h.RunAsync("export default 1;\nconst o = null;\no.boom;\n");

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().StartWith($"{run.ScriptPath}(3): TypeError: ");
    }

    [Theory]
    [InlineData("export default 1; let x = ;", 1, 27)]
    [InlineData("let x = ;\nexport default x;", 1, 9)]
    [InlineData("export default {\n  a: 1,\n  b: ,\n};", 3, 6)]
    public void A_syntax_error_in_a_script_with_export_default_names_its_own_line_and_column(string source, int line, int column)
    {
        var act = () => _h.Compile(source);

        act.Should().Throw<ScriptCompilationException>()
            .Which.Message.Should().StartWith($"{Path.Combine(_h.Dir, "workflow.js")}({line},{column}): error: ");
    }

    [Theory]
    [InlineData("export default 1;\nexport default 2;\n", 2, 1, "a workflow has one result: export default is already on line 1")]
    [InlineData("if (input) {\n  export default 1;\n}\n", 2, 3, "export default must be at the top level of the workflow, not inside a block or a function")]
    [InlineData("function f() { export default 1; }\n", 1, 16, "export default must be at the top level of the workflow, not inside a block or a function")]
    [InlineData("export default async function main() {}\n", 1, 1, "export default takes the run's result, a value; a function or class declaration is no value (export default await main(); is)")]
    [InlineData("export default class Result {}\n", 1, 1, "export default takes the run's result, a value; a function or class declaration is no value (export default await main(); is)")]
    [InlineData("const x = 1;\nimport fs from \"fs\";\n", 2, 1, "import is not supported: a JavaScript workflow has no modules or packages, only the engine's globals")]
    [InlineData("export const q = 1;\n", 1, 1, "only export default is supported: it gives the run's result (export default value;)")]
    [InlineData("const q = 1;\n  export { q };\n", 2, 3, "only export default is supported: it gives the run's result (export default value;)")]
    [InlineData("const q = 1;\nexport { q as default };\n", 2, 1, "only export default is supported: it gives the run's result (export default value;)")]
    [InlineData("export * from \"x\";\n", 1, 1, "only export default is supported: it gives the run's result (export default value;)")]
    [InlineData("const m = await import(\"fs\");\n", 1, 17, "import() is not supported: a JavaScript workflow has no modules or packages, only the engine's globals")]
    [InlineData("log('x');\nexport default await step('s', () => import('fs'));\n", 2, 38, "import() is not supported: a JavaScript workflow has no modules or packages, only the engine's globals")]
    public void Every_other_import_or_export_is_refused_in_one_line_naming_where(string source, int line, int column, string message)
    {
        var act = () => _h.Compile(source);

        act.Should().Throw<ScriptCompilationException>()
            .Which.Message.Should().Be($"{Path.Combine(_h.Dir, "workflow.js")}({line},{column}): error: {message}");
    }

    [Fact]
    public async Task A_resumed_run_replays_its_steps_and_ends_with_the_export_default_value()
    {
        var program = _h.Compile("""
            const first = await agent('counted').run('one', 'first');
            const second = await agent('counted').run('two', 'second');
            export default { first, second };
            """);

        _counted.FailOnce("two");
        var failed = await _h.RunAsync(program);
        failed.Run.Status.Should().Be(RunStatus.Failed);

        var resumed = await _h.Engine.ResumeAsync(program, failed.Run.Id, force: false, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        resumed.Run.Status.Should().Be(RunStatus.Succeeded, resumed.Run.Error);
        resumed.Run.Result!.ToJsonString().Should().Be("""{"first":"one:1","second":"two:3"}""");
        _counted.Calls.Should().Equal("one", "two", "two");
    }

    /// <summary>Returns its input with how many calls it has had; fails a chosen input once.</summary>
    private sealed class CountingAgent : IAgent
    {
        private readonly List<string> _calls = [];
        private string? _failOnce;

        public string Kind => "counted";

        public IReadOnlyList<string> Calls
        {
            get
            {
                lock (_calls)
                {
                    return [.. _calls];
                }
            }
        }

        public void FailOnce(string input) => _failOnce = input;

        public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
        {
            var input = task.Input!.GetValue<string>();
            int count;
            lock (_calls)
            {
                _calls.Add(input);
                count = _calls.Count;
                if (_failOnce == input)
                {
                    _failOnce = null;
                    return ValueTask.FromResult(AgentResult.Fail("not yet"));
                }
            }

            return ValueTask.FromResult(AgentResult.Ok(JsonValue.Create($"{input}:{count}")));
        }
    }
}
