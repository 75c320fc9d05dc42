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

    [Fact]
    public async Task Checkpoints_and_compensations_roll_back_newest_first_in_javascript()
    {
        var harness = new EngineHarness(TimeProvider.System, null, [new EchoAgent(), new FlakyAgent(failures: 1)], [new RollbackOnly()]);
        var (outcome, steps) = await RunAsync(harness, "saga.js", """
            const undone = [];
            await agent("echo").run("before", { name: "before", compensate: async () => { undone.push("before"); } });
            await checkpoint("good");
            await agent("echo").run("a", { name: "a", compensate: async () => { undone.push("a"); await agent("echo").run("undo a"); } });
            await agent("echo").run("b", { name: "b", compensate: async () => { undone.push("b"); } });
            await agent("flaky").run(null, { recovery: ["rollback-only"] });
            return undone;
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be("""["b","a"]""");
        steps.Where(s => s.Status == RunStatus.Compensated).Select(s => s.Id).Should().BeEquivalentTo("a", "b");
        steps.Should().Contain(s => s.Id == "flaky/rollback-only/compensate/undo#2/echo");
    }

    private Task<(Orchestrator.Core.Workflow.RunOutcome Outcome, IReadOnlyList<StepRecord> Steps)> RunAsync(string name, string source) =>
        RunAsync(new EngineHarness(new EchoAgent(), new FailAgent()), name, source);

    private sealed class RollbackOnly : Orchestrator.Abstractions.IRecoveryStrategy
    {
        public string Name => "rollback-only";

        public async ValueTask<Orchestrator.Abstractions.AgentResult?> TryRecoverAsync(Orchestrator.Abstractions.RecoveryContext context, CancellationToken cancellationToken)
        {
            await context.Rollback!(cancellationToken);
            return await context.RunAgent(context.AgentKind, context.Task, cancellationToken);
        }
    }

    private async Task<(Orchestrator.Core.Workflow.RunOutcome Outcome, IReadOnlyList<StepRecord> Steps)> RunAsync(EngineHarness harness, string name, string source)
    {
        var program = JavaScriptWorkflow.Compile(_dir.Write(name, source), JavaScriptOptions.Default, Logger.None);
        return await harness.RunAsync(program);
    }
}
