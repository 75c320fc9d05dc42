using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Reporting;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting;
using Orchestrator.Scripting.JavaScript;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Orchestrator.Tests.JavaScript;

public sealed class JavaScriptWorkflowTests : IDisposable
{
    private readonly JsHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Compile_describes_the_program()
    {
        var source = "return 1;\n";
        var program = _h.Compile(source);

        program.Language.Should().Be("javascript");
        program.ScriptPath.Should().Be(Path.Combine(_h.Dir, "workflow.js"));
        program.ScriptHash.Should().Be(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(program.ScriptPath))));
        program.ScriptHash.Should().MatchRegex("^[0-9a-f]{64}$");
    }

    [Fact]
    public void Compile_of_a_missing_file_names_the_path()
    {
        var path = Path.Combine(_h.Dir, "missing.js");

        var act = () => JavaScriptWorkflow.Compile(path, JavaScriptOptions.Default, Logger.None);

        act.Should().Throw<FileNotFoundException>().Which.FileName.Should().Be(path);
    }

    [Theory]
    [InlineData("const x = 1;\nconst y = ;\nreturn x;", 2, 11)]
    [InlineData("let x = ;", 1, 9)]
    [InlineData("let a;\nlet a;", 2, 5)]
    [InlineData("const a = 1;\nif (a) {\n  log('x');\n", 3, 12)]
    public void Syntax_error_names_file_line_and_column(string source, int line, int column)
    {
        var act = () => _h.Compile(source);

        var path = Path.Combine(_h.Dir, "workflow.js");
        act.Should().Throw<ScriptCompilationException>()
            .Which.Message.Should().StartWith($"{path}({line},{column}): error: ");
    }

    [Fact]
    public async Task Input_comes_in_and_the_returned_value_is_the_result()
    {
        var input = JsonNode.Parse("""{"name":"x","list":[1,2.5,{"deep":null}],"flag":true}""");

        var run = await _h.RunAsync("return { got: input, runId, missing: undefined, fn: function () {} };", input);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        JsonNode.DeepEquals(run.Result!["got"], input).Should().BeTrue(run.Json());
        run.Result!["runId"]!.GetValue<string>().Should().Be(run.Run.Id);
        run.Result.AsObject().ContainsKey("fn").Should().BeFalse("JSON.stringify drops functions and undefined members");
        run.Run.Language.Should().Be("javascript");
    }

    [Fact]
    public async Task No_input_is_null_and_no_return_is_a_null_result()
    {
        var run = await _h.RunAsync("if (input !== null) throw new Error('input should be null');");

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Result.Should().BeNull();
    }

    [Fact]
    public async Task An_agent_call_is_a_journaled_step()
    {
        var run = await _h.RunAsync("""
            const a = await agent('echo').run({ n: 1 });
            const b = await agent('echo').run([a.n, 2], 'second');
            const c = await agent('echo').run();
            return { a, b, c };
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Json().Should().Be("""{"a":{"n":1},"b":[1,2],"c":null}""");
        run.Ids.Should().Equal("echo", "second", "echo#2");
        run.Step("echo").Kind.Should().Be("agent");
        run.Step("echo").Agent.Should().Be("echo");
        run.Step("echo").Input!.ToJsonString().Should().Be("""{"n":1}""");
        run.Step("second").Output!.ToJsonString().Should().Be("[1,2]");
    }

    [Fact]
    public async Task Steps_nest_their_ids()
    {
        var run = await _h.RunAsync("""
            const value = await step('outer', async () => {
              const inner = await step('inner', async () => {
                return await agent('echo').run('deep');
              });
              const again = await agent('echo').run('after');
              return inner + '/' + again;
            });
            await agent('echo').run('top');
            return value;
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Result!.GetValue<string>().Should().Be("deep/after");
        run.Ids.Should().BeEquivalentTo(["outer", "outer/inner", "outer/inner/echo", "outer/echo", "echo"]);
        run.Step("outer/inner").ParentId.Should().Be("outer");
        run.Step("outer/inner/echo").ParentId.Should().Be("outer/inner");
        run.Step("outer/echo").ParentId.Should().Be("outer");
        run.Step("echo").ParentId.Should().BeNull();
        run.Step("outer").Output!.GetValue<string>().Should().Be("deep/after");
    }

    [Fact]
    public async Task A_body_resumes_in_its_own_scope_after_awaiting_plain_promises()
    {
        var run = await _h.RunAsync("""
            async function helper() { await null; return 1; }
            return await step('s', async () => {
              await helper();
              await Promise.resolve();
              return await agent('echo').run('x');
            });
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Ids.Should().Equal("s", "s/echo");
    }

    [Fact]
    public async Task Code_resumes_in_the_scope_it_awaited_in_not_the_one_that_started_the_step()
    {
        // Both promises are still pending when another scope awaits them (the agents wait 50 ms).
        var run = await _h.RunAsync("""
            let later;
            await step('s', async () => { later = agent('echo').run({ n: 1, delayMs: 50 }); return 1; });
            await later;
            await agent('echo').run({ n: 2 });

            const pending = [agent('echo').run({ n: 3, delayMs: 50 })];
            return await step('collect', async () => {
              const [first] = await Promise.all(pending);
              return await agent('echo').run({ n: 4, after: first.n });
            });
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Ids.Should().BeEquivalentTo(["s", "s/echo", "echo", "echo#2", "collect", "collect/echo"]);
        run.Step("echo").Input!["n"]!.GetValue<int>().Should().Be(2);
        run.Step("echo#2").Input!["n"]!.GetValue<int>().Should().Be(3);
        run.Step("collect/echo").Input!["n"]!.GetValue<int>().Should().Be(4);
    }

    [Fact]
    public async Task Sequence_passes_the_context_from_stage_to_stage()
    {
        var run = await _h.RunAsync("""
            return await sequence('build', { n: 1 }, {
              first: async (ctx) => ({ n: ctx.n + 1, first: true }),
              second: async (ctx) => {
                const echoed = await agent('echo').run(ctx.n);
                return { n: echoed * 10 };
              },
              third: async (ctx) => undefined,
            });
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Json().Should().Be("""{"n":20,"first":true}""");
        run.Ids.Should().Equal("build", "build/first", "build/second", "build/second/echo", "build/third");
        run.Step("build/second").Input!.ToJsonString().Should().Be("""{"n":2,"first":true}""");
    }

    [Fact]
    public async Task Parallel_branches_really_overlap()
    {
        // Each branch opens its own gate and waits for the other's: they can only finish together.
        var run = await _h.RunAsync("""
            return await parallel('p', {
              a: async () => await agent('gate').run({ signal: 'a', wait: 'b', value: 'A' }),
              b: async () => await agent('gate').run({ signal: 'b', wait: 'a', value: 'B' }),
            });
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Json().Should().Be("""{"a":"A","b":"B"}""");
        run.Step("p").Kind.Should().Be("parallel");
        run.Step("p/a").Kind.Should().Be("branch");
        run.Step("p/a/gate").ParentId.Should().Be("p/a");
    }

    [Fact]
    public async Task Ids_are_deterministic_however_the_branches_interleave()
    {
        // Branch a is slow first, then b; then random delays. The ids and each step's input prove every
        // continuation ran in its own branch's scope.
        string[] delays = ["[30, 0, 0, 0]", "[0, 0, 30, 0]", "[0, 30, 0, 0]", "[0, 0, 0, 30]"];
        var scripts = delays.Select(d => $"const d = {d};")
            .Concat(Enumerable.Range(0, 6).Select(_ => "const d = [0, 1, 2, 3].map(() => Math.floor(Math.random() * 8));"));
        foreach (var prelude in scripts)
        {
            var run = await _h.RunAsync(prelude + """

                return await parallel('p', {
                  a: async (ctx) => {
                    const first = await agent('echo').run({ branch: 'a', n: 1, delayMs: d[0] });
                    const second = await agent('echo').run({ branch: 'a', n: 2, delayMs: d[1] });
                    return [first.n, second.n];
                  },
                  b: async (ctx) => {
                    const first = await agent('echo').run({ branch: 'b', n: 1, delayMs: d[2] });
                    const second = await agent('echo').run({ branch: 'b', n: 2, delayMs: d[3] });
                    return [first.n, second.n];
                  },
                });
                """);

            run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
            run.Json().Should().Be("""{"a":[1,2],"b":[1,2]}""");
            // The monitor may add an anomaly step of its own (a 30 ms branch on a busy machine): not the script's.
            run.Ids.Where(id => !id.StartsWith("@monitor/", StringComparison.Ordinal))
                .Should().BeEquivalentTo(["p", "p/a", "p/b", "p/a/echo", "p/a/echo#2", "p/b/echo", "p/b/echo#2"], prelude);
            foreach (var (id, branch, n) in new[] { ("p/a/echo", "a", 1), ("p/a/echo#2", "a", 2), ("p/b/echo", "b", 1), ("p/b/echo#2", "b", 2) })
            {
                var step = run.Step(id);
                step.ParentId.Should().Be("p/" + branch);
                step.Input!["branch"]!.GetValue<string>().Should().Be(branch, id);
                step.Input!["n"]!.GetValue<int>().Should().Be(n, id);
            }
        }
    }

    [Fact]
    public async Task Parallel_gives_each_branch_the_context()
    {
        var run = await _h.RunAsync("""
            return await parallel('p', {
              a: async (ctx) => { ctx.seen = 'a'; return ctx; },
              b: async (ctx) => ctx,
            }, { context: { base: 1 } });
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Json().Should().Be("""{"a":{"base":1,"seen":"a"},"b":{"base":1}}""");
    }

    [Fact]
    public async Task AllMustSucceed_fails_with_the_failing_branch_and_the_script_can_catch_it()
    {
        var run = await _h.RunAsync("""
            try {
              await parallel('p', {
                good: async () => await agent('echo').run(1),
                bad: async () => await agent('fail').run({ message: 'broken' }),
              });
              return 'no error';
            } catch (e) {
              return { stepId: e.stepId, message: e.message };
            }
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Result!["stepId"]!.GetValue<string>().Should().Be("p");
        run.Result!["message"]!.GetValue<string>().Should().Contain("bad").And.Contain("broken");
        run.Step("p/bad/fail").Status.Should().Be(RunStatus.Failed);
    }

    [Fact]
    public async Task FirstSuccess_returns_the_first_branch_that_succeeds()
    {
        var run = await _h.RunAsync("""
            return await parallel('p', {
              broken: async () => await agent('fail').run(),
              slow: async () => await agent('hang').run(),
              fine: async () => await agent('echo').run('winner'),
            }, { merge: 'firstSuccess' });
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Result!.GetValue<string>().Should().Be("winner");
        run.Step("p/slow/hang").Error.Should().Be("cancelled");
    }

    [Fact]
    public async Task CollectAll_reports_every_branch()
    {
        var run = await _h.RunAsync("""
            return await parallel('p', {
              ok: async () => await agent('echo').run(1),
              bad: async () => await agent('fail').run({ message: 'nope' }),
              thrown: async () => { throw new Error('from js'); },
            }, { merge: 'collectAll' });
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Result!["ok"]!.ToJsonString().Should().Be("""{"ok":true,"output":1}""");
        run.Result!["bad"]!["ok"]!.GetValue<bool>().Should().BeFalse();
        run.Result!["bad"]!["error"]!.GetValue<string>().Should().Contain("nope");
        run.Result!["thrown"]!["error"]!.GetValue<string>().Should().Be($"{run.ScriptPath}(4): Error: from js");
    }

    [Fact]
    public async Task A_merge_function_resolves_conflicting_keys()
    {
        var run = await _h.RunAsync("""
            const calls = [];
            const merged = await parallel('p', {
              a: async () => ({ only_a: 1, shared: 'from a', nested: { x: 1, same: true } }),
              b: async () => ({ only_b: 2, shared: 'from b', nested: { x: 2, same: true } }),
            }, {
              merge: function (key, current, incoming) {
                calls.push(key);
                return current + '+' + incoming;
              },
            });
            return { merged, calls };
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        JsonNode.DeepEquals(run.Result!["merged"], JsonNode.Parse("""{"only_a":1,"shared":"from a+from b","nested":{"x":"1+2","same":true},"only_b":2}"""))
            .Should().BeTrue(run.Json());
        run.Result!["merged"]!.AsObject().Select(p => p.Key).Should().Equal("only_a", "shared", "nested", "only_b");
        run.Result!["calls"]!.ToJsonString().Should().Be("""["shared","nested.x"]""");
        run.Step("p").Output!["shared"]!.GetValue<string>().Should().Be("from a+from b");
    }

    [Fact]
    public async Task An_unknown_merge_policy_is_a_type_error()
    {
        var run = await _h.RunAsync("""
            try { parallel('p', { a: async () => 1 }, { merge: 'whatever' }); }
            catch (e) { return e instanceof TypeError ? e.message : 'wrong type'; }
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Result!.GetValue<string>().Should().Contain("unknown merge policy 'whatever'");
    }

    [Fact]
    public async Task A_failed_step_can_be_caught_in_the_script()
    {
        var run = await _h.RunAsync("""
            try {
              await agent('fail').run({ message: 'it broke' });
              return 'not caught';
            } catch (e) {
              return { message: e.message, stepId: e.stepId, isError: e instanceof Error };
            }
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Result!["stepId"]!.GetValue<string>().Should().Be("fail");
        run.Result!["message"]!.GetValue<string>().Should().Be("step 'fail' failed: it broke");
        run.Result!["isError"]!.GetValue<bool>().Should().BeTrue();
        run.Step("fail").Status.Should().Be(RunStatus.Failed);
    }

    [Fact]
    public async Task An_uncaught_step_failure_names_the_line_it_was_awaited_on()
    {
        var run = await _h.RunAsync("""
            const ok = await agent('echo').run(1);

            await agent('fail').run({ message: 'it broke' });
            """);

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().Be($"{run.ScriptPath}(3): step 'fail' failed: it broke");
    }

    [Fact]
    public async Task A_failure_inside_a_branch_names_the_parallel_call()
    {
        var run = await _h.RunAsync("""
            // line 1
            await parallel('p', {
              a: async () => { throw new Error('inner'); },
            });
            """);

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().StartWith($"{run.ScriptPath}(2): step 'p' failed: ")
            .And.Contain($"{run.ScriptPath}(3): Error: inner");
    }

    [Fact]
    public async Task A_runtime_throw_names_the_line()
    {
        var run = await _h.RunAsync("""
            const a = await agent('echo').run(1);
            const b = a + 1;
            throw new Error('bad thing ' + b);
            """);

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().Be($"{run.ScriptPath}(3): Error: bad thing 2");
    }

    [Fact]
    public async Task Lines_are_found_when_the_path_has_spaces_and_parentheses()
    {
        var program = _h.Compile("const a = 1;\n\nawait agent('fail').run();\n", name: Path.Combine("my scripts (v2)", "flow (1).js"));

        var run = await _h.RunAsync(program);

        run.Run.Error.Should().Be($"{program.ScriptPath}(3): step 'fail' failed: boom");
    }

    [Fact]
    public async Task A_type_error_on_the_first_line_names_line_one()
    {
        var run = await _h.RunAsync("null.foo;\n");

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().StartWith($"{run.ScriptPath}(1): TypeError: ");
    }

    [Fact]
    public async Task Throwing_a_non_error_still_fails_the_run()
    {
        var run = await _h.RunAsync("await agent('echo').run(1);\nthrow { code: 7 };\n");

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().Be($$"""{{run.ScriptPath}}: uncaught {"code":7}""");
    }

    [Fact]
    public async Task Bad_arguments_are_type_errors_the_script_can_catch()
    {
        var run = await _h.RunAsync("""
            const errors = [];
            for (const f of [() => step(42, async () => 1), () => step('s', 'not a function'), () => agent(''),
                             () => sequence('s', {}, { a: 1 }), () => agent('echo').run(10n)]) {
              try { f(); errors.push('none'); } catch (e) { errors.push(e.name); }
            }
            return errors;
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Json().Should().Be("""["TypeError","TypeError","TypeError","TypeError","TypeError"]""");
        run.Steps.Should().BeEmpty();
    }

    [Fact]
    public async Task An_unknown_agent_is_a_step_failure()
    {
        var run = await _h.RunAsync("await agent('nope').run();");

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().StartWith($"{run.ScriptPath}(1): step 'nope' failed: unknown agent 'nope'");
    }

    [Fact]
    public async Task Handoff_resolves_the_template_against_the_script_folder()
    {
        var run = await _h.RunAsync("""
            const data = await handoff('report', { ok: true }, 'templates/report.sbn');
            await handoff('plain', [1]);
            return data;
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Json().Should().Be("""{"ok":true}""");
        var report = run.Step("report");
        report.Kind.Should().Be("handoff");
        report.Input!["template"]!.GetValue<string>().Should().Be(Path.Combine(_h.Dir, "templates", "report.sbn"));
        report.Input!["data"]!.ToJsonString().Should().Be("""{"ok":true}""");
        run.Step("plain").Input!["template"].Should().BeNull();
    }

    [Fact]
    public async Task A_bad_template_fails_the_run_as_bad_input_and_can_be_caught()
    {
        var engine = new WorkflowEngine(_h.Journal, new AgentRegistry([new JsEchoAgent()]), new RejectingReports(), TimeProvider.System, Logger.None);
        var uncaught = _h.Compile("await handoff('report', { a: 1 }, 'broken.sbn');\n", name: "uncaught.js");
        var caught = _h.Compile("try { await handoff('report', {}, 'broken.sbn'); } catch (e) { return e.message; }\n", name: "caught.js");

        var failed = await engine.RunAsync(uncaught, null, CancellationToken.None);
        var handled = await engine.RunAsync(caught, null, CancellationToken.None);

        failed.Run.Status.Should().Be(RunStatus.Failed);
        failed.BadInput.Should().BeTrue();
        failed.Run.Error.Should().Be($"{uncaught.ScriptPath}(1): {Path.Combine(_h.Dir, "broken.sbn")}(1,1): bad template");
        handled.Run.Status.Should().Be(RunStatus.Succeeded, handled.Run.Error);
        handled.Run.Result!.GetValue<string>().Should().EndWith("bad template");
    }

    [Fact]
    public async Task A_result_that_is_not_json_fails_the_run()
    {
        var run = await _h.RunAsync("return 10n;");

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().StartWith($"{run.ScriptPath}: the script's result is not JSON: TypeError");
    }

    [Fact]
    public async Task Log_writes_through_serilog()
    {
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        var program = _h.Compile("log('hello', 42, { a: 1 });\nlog(undefined);", log: logger);

        var run = await _h.RunAsync(program);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        sink.Events.Should().HaveCount(2);
        sink.Events[0].Level.Should().Be(LogEventLevel.Information);
        sink.Events[0].MessageTemplate.Text.Should().Be("{ScriptMessage}");
        ((ScalarValue)sink.Events[0].Properties["ScriptMessage"]).Value.Should().Be("hello 42 {\"a\":1}");
        ((ScalarValue)sink.Events[0].Properties["RunId"]).Value.Should().Be(run.Run.Id);
    }

    [Fact]
    public async Task A_program_runs_many_times_each_on_a_fresh_engine()
    {
        var program = _h.Compile("""
            if (globalThis.leftover) throw new Error('state leaked between runs');
            globalThis.leftover = true;
            return await agent('echo').run(input);
            """);

        var runs = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => _h.RunAsync(program, JsonValue.Create(i))));

        runs.Select(r => r.Run.Status).Should().AllBeEquivalentTo(RunStatus.Succeeded);
        runs.Select(r => r.Result!.GetValue<int>()).Should().BeEquivalentTo(Enumerable.Range(0, 8));
    }

    [Fact]
    public async Task Steps_the_script_does_not_await_are_cancelled_when_it_ends()
    {
        var run = await _h.RunAsync("""
            agent('hang').run();
            return 'done';
            """);

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Result!.GetValue<string>().Should().Be("done");
        run.Step("hang").Status.Should().Be(RunStatus.Failed);
        run.Step("hang").Error.Should().Be("cancelled");
    }

    [Fact]
    public async Task A_sibling_still_running_when_the_script_fails_is_cancelled_and_recorded()
    {
        var run = await _h.RunAsync("""
            await Promise.all([agent('hang').run(), agent('fail').run()]);
            """);

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().Contain("step 'fail' failed");
        run.Step("hang").Error.Should().Be("cancelled");
    }

    [Fact]
    public async Task A_promise_nothing_can_settle_fails_the_run_instead_of_hanging()
    {
        var run = await _h.RunAsync("await agent('echo').run(1);\nawait new Promise(() => {});\n");

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().Contain("waiting for a promise that nothing can settle");
    }

    [Fact]
    public async Task Cancelling_the_run_cancels_the_script()
    {
        using var cts = new CancellationTokenSource();
        var program = _h.Compile("await agent('hang').run();\nreturn 'finished';");

        var running = _h.RunAsync(program, cancellationToken: cts.Token);
        await _h.Hang.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await cts.CancelAsync();
        var run = await running;

        run.Run.Status.Should().Be(RunStatus.Cancelled);
        run.Step("hang").Error.Should().Be("cancelled");
    }

    [Fact]
    public async Task Shebang_and_strict_mode_are_accepted()
    {
        var run = await _h.RunAsync("#!/usr/bin/env orchestrator\n'use strict';\nreturn typeof this;\n");

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Result!.GetValue<string>().Should().Be("undefined");
    }

    private sealed class RejectingReports : IReportWriter
    {
        public void Validate(string templatePath) => throw new TemplateException($"{templatePath}(1,1): bad template");

        public Task<string> WriteAsync(HandoffPackage package, CancellationToken cancellationToken) => Task.FromResult("report.md");
    }

    private sealed class CollectingSink : ILogEventSink
    {
        public List<LogEvent> Events { get; } = [];

        public void Emit(LogEvent logEvent)
        {
            lock (Events)
            {
                Events.Add(logEvent);
            }
        }
    }
}
