using Orchestrator.Core.Journal;
using Orchestrator.Core.Reporting;
using Orchestrator.Scripting.JavaScript;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.Validation;

/// <summary>validate, validateResult and qa from a .js workflow: the same steps, ids and verdicts as from C#.</summary>
public sealed class JavaScriptValidationTests : IDisposable
{
    private const string Prelude = """
        const orderSchema = {
          title: "order", type: "object", required: ["id", "items", "total"],
          properties: {
            id: { type: "string" }, total: { type: "number" },
            items: { type: "array", minItems: 1, items: { type: "object", required: ["price"], properties: { price: { type: "number", minimum: 0 } } } },
          },
        };
        const sum = (o) => o.items.reduce((s, i) => s + i.price, 0);
        const totalMatches = (o) => o.total === sum(o) ? null : `total is ${o.total} but the items add up to ${sum(o)}`;

        """;

    private readonly TempDirectory _dir = new();
    private readonly EngineHarness _harness;

    public JavaScriptValidationTests()
    {
        _harness = new EngineHarness(TimeProvider.System, Path.Combine(_dir.Path, "store"), [new EchoAgent(), new FailAgent()], []);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_schema_and_checks_find_every_issue_and_the_error_lists_them()
    {
        var (outcome, steps) = await RunAsync("""
            try {
              await validate("order", { id: "A-1", items: [{ price: -1 }, { price: 3 }], total: 5 }, { schema: orderSchema, checks: { "total matches": totalMatches } });
              return "valid";
            } catch (e) {
              return `${e.stepId} | ${e.reason}`;
            }
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.GetValue<string>().Should().Be("order | validation failed: /items/0/price: -1 should be at least 0; total matches: total is 5 but the items add up to 2");
        steps.Single(s => s.Id == "order").Should().Match<StepRecord>(s => s.Kind == "validate" && s.Status == RunStatus.Failed);
    }

    [Fact]
    public async Task A_corrector_fixes_the_value_in_its_own_step_and_the_fix_is_validated_again()
    {
        var (outcome, steps) = await RunAsync("""
            return await validate("order", { id: "A-1", items: [{ price: 2 }, { price: 3 }], total: 4 }, {
              schema: orderSchema,
              checks: { "total matches": totalMatches },
              correct: async (o, issues) => {
                const checked = await agent("echo").run(issues, "review");
                return { ...o, total: sum(o), fixed: checked.length };
              },
            });
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be("""{"id":"A-1","items":[{"price":2},{"price":3}],"total":5,"fixed":1}""");
        steps.Select(s => s.Id).Should().Equal("order", "order/correct", "order/correct/review");
        steps.Single(s => s.Id == "order/correct").Input!["issues"]!.ToJsonString().Should().Be("""["total matches: total is 4 but the items add up to 5"]""");
    }

    [Fact]
    public async Task A_corrector_that_gives_up_or_never_succeeds_fails_the_step()
    {
        var (outcome, steps) = await RunAsync("""
            const reasons = [];
            try { await validate("gives-up", 1, { checks: { "is two": (n) => n === 2 }, correct: () => null }); }
            catch (e) { reasons.push(e.reason); }
            try { await validate("bounded", 0, { checks: { "is nine": (n) => n === 9 ? [] : [`${n} is not 9`] }, correct: (n) => n + 1, maxCorrections: 2 }); }
            catch (e) { reasons.push(e.reason); }
            return reasons;
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be(
            """["validation failed: is two: failed (the corrector could not correct it)","validation failed: is nine: 2 is not 9 (still invalid after 2 correction(s))"]""");
        steps.Select(s => s.Id).Should().Equal("gives-up", "gives-up/correct", "bounded", "bounded/correct", "bounded/correct#2");
    }

    [Fact]
    public async Task The_result_is_validated_and_quality_checks_run_after_the_script_returns()
    {
        var (outcome, steps) = await RunAsync("""
            validateResult({ schema: orderSchema, checks: { "total matches": totalMatches }, correct: (o) => ({ ...o, total: sum(o) }) });
            qa("has items", (r) => r.items.length > 0);
            qa("no line over half the total", (r) => r.items.filter((i) => i.price > r.total / 2).map((i) => `${i.sku} is ${Math.round(i.price * 100 / r.total)}% of the total`));
            qa("reviewed by an agent", async (r) => await agent("echo").run(["needs review"], "reviewer"));
            qa("crashes", (r) => r.missing.value);
            await agent("echo").run("work");
            return { id: "A-1", items: [{ sku: "A", price: 25 }, { sku: "B", price: 5 }], total: 1 };
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!["total"]!.GetValue<int>().Should().Be(30, "the corrected result is the run's result");
        steps.Select(s => s.Id).Should().Equal(
            "echo", "result", "result/correct", "qa", "qa/has items", "qa/no line over half the total",
            "qa/reviewed by an agent", "qa/reviewed by an agent/reviewer", "qa/crashes");

        var package = await HandoffPackage.LoadAsync(_harness.Journal, outcome.Run.Id, CancellationToken.None);
        package.Qa.Select(q => (q.Name, q.Passed, string.Join(" / ", q.Issues))).Should().Equal(
            ("has items", true, ""),
            ("no line over half the total", false, "A is 83% of the total"),
            ("reviewed by an agent", false, "needs review"),
            ("crashes", false, package.Qa[3].Issues[0]));
        package.Qa[3].Issues.Should().ContainSingle().Which.Should().StartWith("the check threw: ").And.EndWith(".js(14): TypeError: Cannot read properties of undefined (reading 'value')");
        File.ReadAllText(outcome.ReportPath!).Should().Contain("## Quality checks").And.Contain("| no line over half the total | **failed** | A is 83% of the total |");
    }

    [Fact]
    public async Task A_failing_required_check_fails_the_run()
    {
        var (outcome, steps) = await RunAsync("""
            qa("within budget", (r) => r.total <= 100 ? [] : [`total ${r.total} is over the budget of 100`], { required: true });
            qa("after it", () => true);
            return { total: 120 };
            """);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().EndWith("step 'qa' failed: required quality check failed: within budget: total 120 is over the budget of 100");
        steps.Single(s => s.Id == "qa/after it").Status.Should().Be(RunStatus.Succeeded);
    }

    [Theory]
    [InlineData("await validate(\"x\", 1, {});", "validate(name, value, { schema, checks, correct, maxCorrections }): give options.schema, options.checks or both")]
    [InlineData("await validate(\"x\", 1, { schema: { type: 5 } });", "invalid JSON schema: 'type' must be either a string or an array of strings")]
    [InlineData("await validate(\"x\", 1, { checks: { a: () => true }, corect: () => 1 });", "unknown option 'corect'")]
    [InlineData("await validate(\"x\", 1, { checks: { a: () => true }, maxCorrections: -1 });", "options.maxCorrections must be a whole number, 0 or more")]
    [InlineData("qa(\"x\", 5);", "qa(name, check, { required }): check must be a function")]
    [InlineData("qa(\"x\", () => true, { required: \"yes\" });", "options.required must be true or false")]
    public async Task Bad_arguments_are_type_errors_that_say_what_is_expected(string call, string message)
    {
        var (outcome, _) = await RunAsync($$"""
            try { {{call}} return "accepted"; } catch (e) { return `${e.name}: ${e.message}`; }
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.GetValue<string>().Should().StartWith("TypeError: ").And.Contain(message);
    }

    private async Task<(Orchestrator.Core.Workflow.RunOutcome Outcome, IReadOnlyList<StepRecord> Steps)> RunAsync(string body)
    {
        var program = JavaScriptWorkflow.Compile(_dir.Write($"v{Guid.NewGuid():N}.js", Prelude + body), JavaScriptOptions.Default, Logger.None);
        return await _harness.RunAsync(program);
    }
}
