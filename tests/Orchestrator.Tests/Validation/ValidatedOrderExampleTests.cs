using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Validation;

/// <summary>scripts/validated-order.csx and .js run end to end through the real command line, with the same journal and report.</summary>
public sealed class ValidatedOrderExampleTests : IDisposable
{
    private const string ExpectedResult = """{"order":"ORD-1042","lines":[{"sku":"A-1","amount":25},{"sku":"B-7","amount":5}],"total":30}""";

    private readonly TempDirectory _dir = new();

    private string Store => Path.Combine(_dir.Path, "store");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("validated-order.csx")]
    [InlineData("validated-order.js")]
    public async Task Validated_order_corrects_the_order_and_reports_its_quality_checks(string script)
    {
        var result = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, script), "--store", Store, "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        var outcome = JsonNode.Parse(result.LastLine)!;
        outcome["result"]!.ToJsonString().Should().Be(ExpectedResult);
        File.Delete($"/tmp/orchestrator-validated-{outcome["runId"]!.GetValue<string>()}.txt");

        var package = JsonNode.Parse(File.ReadAllText(Path.ChangeExtension(outcome["report"]!.GetValue<string>(), ".json")))!;
        package["steps"]!.AsArray().Select(s => $"{s!["id"]} {s["kind"]} {s["status"]}").Should().Equal(
            "fetch agent succeeded",
            "order validate succeeded",
            "order/correct correction succeeded",
            "receipt agent succeeded",
            "validated-order handoff succeeded",
            "result validate succeeded",
            "qa quality succeeded",
            "qa/total within budget qa succeeded",
            "qa/no line over half the total qa degraded",
            "qa/receipt names the order qa succeeded",
            "qa/receipt names the order/read agent succeeded");
        var correct = package["steps"]!.AsArray().Single(s => s!["id"]!.GetValue<string>() == "order/correct")!;
        correct["input"]!["issues"]!.AsArray().Select(i => i!.GetValue<string>()).Should().Equal(
            "/lines/1/qty: Value is \"string\" but should be \"integer\"",
            "total matches lines: total is 25 but the lines add up to 30");

        var report = File.ReadAllText(outcome["report"]!.GetValue<string>());
        report.Should().Contain("""
            ## Quality checks

            | Check | Verdict | Issues |
            | --- | --- | --- |
            | total within budget | passed (required) | — |
            | no line over half the total | **failed** | A-1 is 83% of the total |
            | receipt names the order | passed | — |
            """.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("validated-order.csx")]
    [InlineData("validated-order.js")]
    public async Task Validated_order_fails_its_required_check_when_the_budget_is_too_small(string script)
    {
        var result = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, script), "--store", Store, "--json", "--input", """{"budget":20}""");

        result.ExitCode.Should().Be(1, result.ToString());
        var outcome = JsonNode.Parse(result.LastLine)!;
        File.Delete($"/tmp/orchestrator-validated-{outcome["runId"]!.GetValue<string>()}.txt");
        outcome["error"]!.GetValue<string>().Should().EndWith("step 'qa' failed: required quality check failed: total within budget: total 30 is over the budget of 20");
        File.ReadAllText(outcome["report"]!.GetValue<string>()).Should().Contain("| total within budget | **failed** (required) | total 30 is over the budget of 20 |");
    }
}
