using Orchestrator.Core.Journal;
using Orchestrator.Scripting.JavaScript;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.JavaScript;

/// <summary>The recovery, timeout and severity verbs reach JavaScript as they reach C#.</summary>
public sealed class JavaScriptDurabilityDslTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Severity_options_and_rules_degrade_failures_instead_of_failing_the_run()
    {
        var (outcome, steps) = await RunAsync("severity.js", """
            classifyFailures((f) => f.error.includes("telemetry") ? "minor" : null);
            const a = await agent("fail").run({ message: "cache offline" }, { name: "cache", severity: "moderate", fallback: { hits: 0 } });
            const b = await agent("fail").run({ message: "telemetry down" }, "telemetry");
            return { a, b };
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be("""{"a":{"hits":0},"b":null}""");
        steps.Single(s => s.Id == "cache").Status.Should().Be(RunStatus.Degraded);
        steps.Single(s => s.Id == "telemetry").Error.Should().Be("minor: telemetry down");
    }

    [Fact]
    public async Task An_optional_branch_is_dropped_and_a_bad_option_is_a_type_error()
    {
        var (outcome, _) = await RunAsync("optional.js", """
            const merged = await parallel("checks", {
              unit: () => agent("echo").run("green"),
              lint: () => agent("fail").run({ message: "linter crashed" }),
            }, { optional: ["lint"] });
            let problem = null;
            try { setStepTimeout(-5); } catch (e) { problem = e.name + ": " + e.message; }
            return { merged, problem };
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!["merged"]!.ToJsonString().Should().Be("""{"unit":"green"}""");
        outcome.Run.Result!["problem"]!.GetValue<string>().Should().StartWith("TypeError: setStepTimeout(ms): ms must be a positive number");
    }

    private async Task<(Orchestrator.Core.Workflow.RunOutcome Outcome, IReadOnlyList<StepRecord> Steps)> RunAsync(string name, string source)
    {
        var harness = new EngineHarness(new EchoAgent(), new FailAgent());
        var program = JavaScriptWorkflow.Compile(_dir.Write(name, source), JavaScriptOptions.Default, Logger.None);
        return await harness.RunAsync(program);
    }
}
