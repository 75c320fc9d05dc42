using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Reporting;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Validation;

/// <summary>Validate, correct, ValidateResult and Qa from a .csx workflow, through the real engine.</summary>
public sealed class CSharpValidationTests : IDisposable
{
    /// <summary>A C# raw string holding the schema of an order, for the scripts below.</summary>
    private const string OrderSchema = "var orderSchema = \"\"\"\n"
        + """{ "title": "order", "type": "object", "required": ["id", "items", "total"], "properties": { "id": { "type": "string" }, "total": { "type": "number" }, "items": { "type": "array", "minItems": 1, "items": { "type": "object", "required": ["price"], "properties": { "price": { "type": "number", "minimum": 0 } } } } } }"""
        + "\n\"\"\";\n"
        + "double Sum(JsonNode? o) => o![\"items\"]!.AsArray().Sum(i => i![\"price\"]!.GetValue<double>());\n"
        + "string? TotalMatches(JsonNode? o) => o![\"total\"]!.GetValue<double>() == Sum(o) ? null : $\"total is {o[\"total\"]} but the items add up to {Sum(o)}\";\n";

    private readonly TempDirectory _dir = new();
    private readonly CountingAgent _counting = new();
    private readonly EngineHarness _harness;

    public CSharpValidationTests()
    {
        _harness = new EngineHarness(TimeProvider.System, Path.Combine(_dir.Path, "store"), [new EchoAgent(), new FailAgent(), _counting, new FlakyAgent(failures: 1)], []);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_valid_value_passes_through_a_journaled_validate_step()
    {
        var (outcome, steps) = await RunAsync("""
            var order = await Agent("echo").RunAsync(new { id = "A-1", items = new[] { new { price = 2 }, new { price = 3 } }, total = 5 }, name: "draft");
            return await Validate("order", order, Schema(orderSchema), Check("total matches", TotalMatches));
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!["total"]!.GetValue<int>().Should().Be(5);
        steps.Select(s => s.Id).Should().Equal("draft", "order");
        var validate = steps.Single(s => s.Id == "order");
        validate.Kind.Should().Be("validate");
        validate.Input!["validators"]!.ToJsonString().Should().Be("""[{"name":"order","kind":"schema"},{"name":"total matches","kind":"predicate"}]""");
        validate.Input!["value"]!["id"]!.GetValue<string>().Should().Be("A-1");
    }

    [Fact]
    public async Task An_invalid_value_fails_the_step_listing_every_issue_and_the_script_can_catch_it()
    {
        var (outcome, steps) = await RunAsync("""
            try
            {
                await Validate("order", new { id = "A-1", items = new[] { new { price = -1 }, new { price = 3 } }, total = 5 }, Schema(orderSchema), Check("total matches", TotalMatches));
                return "valid";
            }
            catch (StepFailedException e)
            {
                return e.StepId + " | " + e.Reason;
            }
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.GetValue<string>().Should().Be("order | validation failed: /items/0/price: -1 should be at least 0; total matches: total is 5 but the items add up to 2");
        var failed = steps.Single(s => s.Id == "order");
        failed.Status.Should().Be(RunStatus.Failed);
        failed.Output!["issues"]!.AsArray().Should().HaveCount(2, "the journal keeps every issue and the value they are about");
        failed.Output!["value"]!["total"]!.GetValue<int>().Should().Be(5);
    }

    [Fact]
    public async Task An_uncaught_validation_failure_fails_the_run_naming_the_step()
    {
        var (outcome, _) = await RunAsync("""
            await Validate("order", new { id = 1 }, Schema(orderSchema));
            return "unreachable";
            """);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Contain("step 'order' failed: validation failed: (root): Required properties [\"items\",\"total\"] are not present; /id: Value is \"integer\" but should be \"string\"");
    }

    [Fact]
    public async Task A_corrector_fixes_the_value_and_the_fix_is_validated_again()
    {
        var (outcome, steps) = await RunAsync("""
            var draft = new { id = "A-1", items = new[] { new { price = 2 }, new { price = 3 } }, total = 4 };
            return await Validate("order", draft, [Schema(orderSchema), Check("total matches", TotalMatches)],
                correct: (o, issues) =>
                {
                    var fixedOrder = o!.DeepClone();
                    fixedOrder["total"] = Sum(o);
                    return fixedOrder;
                });
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!["total"]!.GetValue<double>().Should().Be(5);
        steps.Select(s => s.Id).Should().Equal("order", "order/correct");
        var correct = steps.Single(s => s.Id == "order/correct");
        correct.Kind.Should().Be("correction");
        correct.Input!["issues"]!.ToJsonString().Should().Be("""["total matches: total is 4 but the items add up to 5"]""");
        correct.Input!["value"]!["total"]!.GetValue<int>().Should().Be(4);
        steps.Single(s => s.Id == "order").Output!["total"]!.GetValue<double>().Should().Be(5, "the step's output is the corrected value");
    }

    [Fact]
    public async Task A_corrector_that_calls_an_agent_nests_it_under_its_correct_step()
    {
        var (outcome, steps) = await RunAsync("""
            return await Validate("greeting", "helo", [Check("spelled", g => g!.GetValue<string>() == "hello" ? null : "misspelled")],
                correct: async (g, issues) => await Agent("echo").RunAsync("hello", name: "speller"));
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.GetValue<string>().Should().Be("hello");
        steps.Select(s => s.Id).Should().Equal("greeting", "greeting/correct", "greeting/correct/speller");
    }

    [Fact]
    public async Task A_corrector_that_cannot_correct_fails_the_step_with_the_issues()
    {
        var (outcome, steps) = await RunAsync("""
            await Validate("order", new { id = "A-1", items = new[] { new { price = 2 } }, total = 9 }, [Check("total matches", TotalMatches)],
                correct: (o, issues) => (JsonNode?)null);
            return "unreachable";
            """);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().EndWith("step 'order' failed: validation failed: total matches: total is 9 but the items add up to 2 (the corrector could not correct it)");
        steps.Select(s => s.Id).Should().Equal("order", "order/correct");
    }

    [Fact]
    public async Task Corrections_stop_at_max_corrections()
    {
        var (outcome, steps) = await RunAsync("""
            var tries = 0;
            await Validate("count", 0, [Check("is three", n => n!.GetValue<int>() == 3)],
                correct: (n, issues) => { tries++; return n!.GetValue<int>() + 1; }, maxCorrections: 2);
            return tries;
            """);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().EndWith("step 'count' failed: validation failed: is three: failed (still invalid after 2 correction(s))");
        steps.Select(s => s.Id).Should().Equal("count", "count/correct", "count/correct#2");
        steps.Single(s => s.Id == "count").Output!["value"]!.GetValue<int>().Should().Be(2);
    }

    [Fact]
    public async Task The_run_result_is_validated_and_corrected_before_the_run_ends()
    {
        var (outcome, steps) = await RunAsync("""
            ValidateResult([Schema(orderSchema), Check("total matches", TotalMatches)], correct: (o, issues) =>
            {
                var fixedOrder = o!.DeepClone();
                fixedOrder["total"] = Sum(o);
                return fixedOrder;
            });
            await Agent("echo").RunAsync("work");
            return new { id = "A-1", items = new[] { new { price = 2 } }, total = 3 };
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!["total"]!.GetValue<double>().Should().Be(2);
        steps.Select(s => s.Id).Should().Equal("echo", "result", "result/correct");
        steps.Single(s => s.Id == "result").Kind.Should().Be("validate");
    }

    [Fact]
    public async Task An_invalid_run_result_fails_the_run()
    {
        var (outcome, _) = await RunAsync("""
            ValidateResult(Schema("{ \"type\": \"array\" }"));
            return new { not = "an array" };
            """);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().EndWith("step 'result' failed: validation failed: (root): Value is \"object\" but should be \"array\"");
    }

    [Fact]
    public async Task Quality_checks_run_after_the_script_and_their_verdicts_reach_the_package_and_the_report()
    {
        var (outcome, steps) = await RunAsync("""
            Qa("has items", r => r!["items"]!.AsArray().Count > 0 ? null : "no items");
            Qa("no line over half the total", r => r!["items"]!.AsArray()
                .Where(i => i!["price"]!.GetValue<double>() > Sum(r) / 2)
                .Select(i => $"{i!["sku"]} is {i["price"]!.GetValue<double>() * 100 / Sum(r):0}% of the total"));
            Qa("reviewed by an agent", async r => (await Agent("echo").RunAsync(new[] { "needs | review" }, name: "reviewer"))!.AsArray());
            Qa("crashes", r => r!["missing"]!.GetValue<int>() > 0);
            return new { id = "A-1", items = new[] { new { sku = "A", price = 25.0 }, new { sku = "B", price = 5.0 } }, total = 30 };
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, "a check that is not required is reported, it does not fail the run");
        steps.Where(s => s.ParentId == "qa").Select(s => (s.Id, s.Kind, s.Status)).Should().Equal(
            ("qa/has items", "qa", RunStatus.Succeeded),
            ("qa/no line over half the total", "qa", RunStatus.Degraded),
            ("qa/reviewed by an agent", "qa", RunStatus.Degraded),
            ("qa/crashes", "qa", RunStatus.Degraded));
        steps.Should().Contain(s => s.Id == "qa/reviewed by an agent/reviewer", "a check's own steps nest under it");
        steps.Single(s => s.Id == "qa").Output!.ToJsonString().Should().Be("""{"passed":1,"failed":3}""");

        var package = await HandoffPackage.LoadAsync(_harness.Journal, outcome.Run.Id, CancellationToken.None);
        package.Qa.Select(q => (q.Name, q.Passed, string.Join(" / ", q.Issues))).Should().Equal(
            ("has items", true, ""),
            ("no line over half the total", false, "A is 83% of the total"),
            ("reviewed by an agent", false, "needs | review"),
            ("crashes", false, "the check threw: Object reference not set to an instance of an object."));
        HandoffPackageJson.Serialize(package).Should().Contain("\"qa\": [").And.Contain("\"name\": \"no line over half the total\"");

        var report = File.ReadAllText(outcome.ReportPath!);
        report.Should().Contain("""
            ## Quality checks

            | Check | Verdict | Issues |
            | --- | --- | --- |
            | has items | passed | — |
            | no line over half the total | **failed** | A is 83% of the total |
            | reviewed by an agent | **failed** | needs \| review |
            """.ReplaceLineEndings("\n"));
        File.ReadAllText(Path.ChangeExtension(outcome.ReportPath!, ".html")).Should().Contain("<h2>Quality checks</h2>");
    }

    [Fact]
    public async Task A_failing_required_check_fails_the_run_after_every_check_ran()
    {
        var (outcome, steps) = await RunAsync("""
            Qa("within budget", r => r!["total"]!.GetValue<int>() <= 100 ? null : $"total {r["total"]} is over the budget of 100", required: true);
            Qa("after it", r => true);
            return new { total = 120 };
            """);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().EndWith("step 'qa' failed: required quality check failed: within budget: total 120 is over the budget of 100");
        outcome.Run.Result!.ToJsonString().Should().Be("""{"total":120}""", "the failed run keeps the result its checks judged, for the report");
        steps.Single(s => s.Id == "qa/within budget").Status.Should().Be(RunStatus.Failed);
        steps.Single(s => s.Id == "qa/after it").Status.Should().Be(RunStatus.Succeeded);

        var package = await HandoffPackage.LoadAsync(_harness.Journal, outcome.Run.Id, CancellationToken.None);
        package.Qa.Should().HaveCount(2);
        package.Qa[0].Should().Match<QaCheckResult>(q => !q.Passed && q.Required && q.Issues.Single() == "total 120 is over the budget of 100");
        File.ReadAllText(outcome.ReportPath!).Should().Contain("| within budget | **failed** (required) | total 120 is over the budget of 100 |");
    }

    [Fact]
    public async Task Two_checks_with_one_name_are_refused()
    {
        var (outcome, _) = await RunAsync("""
            Qa("same", r => true);
            Qa("same", r => true);
            return 1;
            """);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Contain("there is already a quality check named 'same'");
    }

    [Fact]
    public async Task A_resumed_run_replays_a_corrected_validation_without_correcting_again()
    {
        var script = Write("""
            var order = await Validate("order", new { id = "A-1", items = new[] { new { price = 2 } }, total = 1 }, [Check("total matches", TotalMatches)],
                correct: async (o, issues) =>
                {
                    await Agent("count").RunAsync(null, name: "corrector");
                    var fixedOrder = o!.DeepClone();
                    fixedOrder["total"] = Sum(o);
                    return fixedOrder;
                });
            await Agent("flaky").RunAsync(null, name: "ship");
            return order;
            """);

        var (first, _) = await _harness.RunCsxAsync(script);
        var (resumed, steps) = await _harness.ResumeCsxAsync(script, first.Run.Id);

        first.Run.Status.Should().Be(RunStatus.Failed);
        resumed.Run.Status.Should().Be(RunStatus.Succeeded, resumed.Run.Error);
        resumed.Run.Result!["total"]!.GetValue<double>().Should().Be(2);
        _counting.Calls["order/correct/corrector"].Should().Be(1, "the finished validate step replays from the journal");
        steps.Single(s => s.Id == "ship").Attempt.Should().Be(2);
    }

    private string Write(string body) => _dir.Write($"v{Guid.NewGuid():N}.csx", OrderSchema + body);

    private Task<(Orchestrator.Core.Workflow.RunOutcome Outcome, IReadOnlyList<StepRecord> Steps)> RunAsync(string body) =>
        _harness.RunCsxAsync(Write(body));
}
