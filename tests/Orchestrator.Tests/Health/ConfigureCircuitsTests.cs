using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Health;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Health;

/// <summary>Scripts tune circuit breakers: <c>ConfigureCircuits</c> / <c>configureCircuits</c>, per agent kind or for all.</summary>
public sealed class ConfigureCircuitsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 6, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_script_lowers_an_agents_throughput_and_shortens_its_break_and_the_circuit_follows()
    {
        var health = new AgentHealthBook(_time);
        var harness = new EngineHarness(_time, null, [new FailAgent(), new EchoAgent()], [], health);
        var script = _dir.Write("tune.csx", """
            ConfigureCircuits(agent: "fail", minimumThroughput: 2, openFor: TimeSpan.FromSeconds(5));
            var errors = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                try { await Agent("fail").RunAsync(new { message = "down" }, name: "call-" + i); }
                catch (StepFailedException e) { errors.Add(e.Reason); }
            }
            return errors;
            """);

        var (outcome, _) = await harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        var errors = outcome.Run.Result!.AsArray().Select(e => e!.GetValue<string>()).ToList();
        errors[0].Should().Contain("down");
        errors[1].Should().Contain("down");
        errors[2].Should().Contain("circuit", "two failures open it now, not three");
        var circuit = health.Circuits.Should().ContainSingle(c => c.Id == "fail").Subject;
        circuit.State.Should().Be(AgentHealthState.Unhealthy);
        circuit.BreakRemaining.Should().Be(TimeSpan.FromSeconds(5));
        health.OptionsOf("echo").Should().Be(CircuitOptions.Default, "only the named kind was tuned");

        _time.Advance(TimeSpan.FromSeconds(5));
        circuit.State.Should().Be(AgentHealthState.Recovering, "the break is five seconds, not thirty");
    }

    [Fact]
    public async Task Tuning_every_kind_reaches_circuits_already_made_and_javascript_says_the_same()
    {
        var health = new AgentHealthBook(_time);
        var harness = new EngineHarness(_time, null, [new FailAgent(), new EchoAgent()], [], health);
        health.For("fail");
        var script = _dir.Write("tune.js", """
            configureCircuits({ failureRatio: 0.9, windowMs: 60000 });
            return "tuned";
            """);
        var program = Orchestrator.Scripting.WorkflowScripts.Compile(script, new Orchestrator.Scripting.JavaScript.JavaScriptOptions(), Serilog.Core.Logger.None);

        var (outcome, _) = await harness.RunAsync(program);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        health.OptionsOf(null).Should().Be(CircuitOptions.Default with { FailureRatio = 0.9, SamplingDuration = TimeSpan.FromMinutes(1) });
        health.OptionsOf("fail").Should().Be(health.OptionsOf(null));
    }

    [Theory]
    [InlineData("configureCircuits({ failureRatio: 2 });", "failureRatio")]
    [InlineData("configureCircuits({ minimumThroughput: 0 });", "minimumThroughput")]
    [InlineData("configureCircuits({ breakMs: 5000 });", "unknown option 'breakMs'")]
    public async Task A_bad_setting_fails_the_run_naming_it(string call, string named)
    {
        var harness = new EngineHarness(_time, null, [new EchoAgent()], [], new AgentHealthBook(_time));
        var script = _dir.Write("bad.js", call);
        var program = Orchestrator.Scripting.WorkflowScripts.Compile(script, new Orchestrator.Scripting.JavaScript.JavaScriptOptions(), Serilog.Core.Logger.None);

        var (outcome, _) = await harness.RunAsync(program);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Contain("configureCircuits").And.Contain(named);
    }
}
