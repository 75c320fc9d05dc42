using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Orchestrator.Abstractions;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Runs;
using Orchestrator.Core.Telemetry;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.Telemetry;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection
{
    /// <summary>The engine's source and meter are process-wide: these tests run alone, so that the counts are theirs.</summary>
    public const string Name = "Telemetry";
}

/// <summary>Spans and metrics from runs' event streams, read back through OpenTelemetry's in-memory exporter.</summary>
[Collection(TelemetryCollection.Name)]
public sealed class RunTelemetryTests : IDisposable
{
    private static readonly TimeSpan AgentTime = TimeSpan.FromMilliseconds(50);

    private readonly TempDirectory _dir = new();
    private readonly List<Activity> _spans = [];
    private readonly List<Metric> _metrics = [];
    private readonly TracerProvider _tracer;
    private readonly MeterProvider _meter;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));

    public RunTelemetryTests()
    {
        _tracer = Sdk.CreateTracerProviderBuilder().AddSource(OrchestratorTelemetry.Name).AddInMemoryExporter(_spans).Build();
        _meter = Sdk.CreateMeterProviderBuilder().AddMeter(OrchestratorTelemetry.Name).AddInMemoryExporter(_metrics).Build();
    }

    public void Dispose()
    {
        _tracer.Dispose();
        _meter.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_runs_spans_form_the_same_tree_as_its_steps_with_their_attributes_and_journal_times()
    {
        var (manager, harness) = Manager();
        await using var _ = manager;
        var script = _dir.Write("tree.csx", """
            await Agent("advance").RunAsync(new { n = 1 });
            await Parallel("p", Merge.AllMustSucceed,
                Branch("a", () => Agent("advance").RunAsync(new { n = 2 })),
                Branch("b", () => Step("s", () => 1)));
            return 1;
            """);

        var run = await manager.StartAsync(script, null, CancellationToken.None);
        var outcome = await run.Completion;
        outcome.Run.Status.Should().Be(RunStatus.Succeeded);
        var steps = await harness.StepsAsync(run.Id);

        var spans = SpansOf(run.Id);
        var root = spans.Should().ContainSingle(s => s.GetTagItem("orchestrator.step.id") == null).Subject;
        root.DisplayName.Should().Be("run tree.csx");
        root.ParentSpanId.Should().Be(default(ActivitySpanId));
        root.GetTagItem("orchestrator.run.status").Should().Be("succeeded");
        root.StartTimeUtc.Should().Be(outcome.Run.StartedAt.UtcDateTime);
        (root.StartTimeUtc + root.Duration).Should().Be(outcome.Run.EndedAt!.Value.UtcDateTime);

        var byStep = spans.Where(s => s != root).ToDictionary(s => (string)s.GetTagItem("orchestrator.step.id")!);
        byStep.Keys.Should().BeEquivalentTo(steps.Select(s => s.Id));
        foreach (var step in steps)
        {
            var span = byStep[step.Id];
            span.ParentSpanId.Should().Be(step.ParentId is null ? root.SpanId : byStep[step.ParentId].SpanId, step.Id);
            span.TraceId.Should().Be(root.TraceId);
            span.DisplayName.Should().Be(step.Name);
            span.GetTagItem("orchestrator.run.id").Should().Be(run.Id);
            span.GetTagItem("orchestrator.step.kind").Should().Be(step.Kind);
            span.GetTagItem("orchestrator.agent").Should().Be(step.Agent);
            span.GetTagItem("orchestrator.attempt").Should().Be(step.Attempt);
            span.GetTagItem("orchestrator.step.status").Should().Be("succeeded");
            span.StartTimeUtc.Should().Be(step.StartedAt.UtcDateTime);
            // An activity lasts at least one tick.
            span.Duration.Should().Be(TimeSpan.FromTicks(Math.Max(1, (step.EndedAt!.Value - step.StartedAt).Ticks)));
        }

        byStep.Values.Where(s => (string?)s.GetTagItem("orchestrator.agent") == "advance").Should().HaveCount(2).And.OnlyContain(s => s.Duration == AgentTime);

        _meter.ForceFlush();
        Sum("orchestrator.steps.started").Should().Be(steps.Count);
        Sum("orchestrator.steps.finished").Should().Be(steps.Count);
        Sum("orchestrator.steps.failed").Should().Be(0);
        Sum("orchestrator.steps.in_flight").Should().Be(0);
        var (count, total) = Histogram("orchestrator.step.duration");
        count.Should().Be(steps.Count);
        total.Should().Be(steps.Sum(s => s.DurationMs!.Value));
    }

    [Fact]
    public async Task A_failed_run_ends_its_span_and_its_failed_steps_span_with_an_error()
    {
        var (manager, _) = Manager();
        await using var _ = manager;
        var script = _dir.Write("fails.csx", """
            await Step("fine", () => 1);
            return await Step("boom", () => int.Parse("no"));
            """);

        var run = await manager.StartAsync(script, null, CancellationToken.None);
        (await run.Completion).Run.Status.Should().Be(RunStatus.Failed);

        var spans = SpansOf(run.Id);
        var root = spans.Single(s => s.GetTagItem("orchestrator.step.id") == null);
        root.Status.Should().Be(ActivityStatusCode.Error);
        root.GetTagItem("orchestrator.run.status").Should().Be("failed");
        var boom = spans.Single(s => (string?)s.GetTagItem("orchestrator.step.id") == "boom");
        boom.Status.Should().Be(ActivityStatusCode.Error);
        boom.StatusDescription.Should().Contain("no");
        boom.GetTagItem("orchestrator.step.status").Should().Be("failed");

        _meter.ForceFlush();
        Sum("orchestrator.steps.failed").Should().Be(1);
        Sum("orchestrator.steps.finished").Should().Be(1);
    }

    [Fact]
    public async Task A_cancelled_run_ends_every_span_and_its_resume_links_to_the_first_attempt()
    {
        var (manager, harness) = Manager();
        await using var _ = manager;
        var flag = Path.Combine(_dir.Path, "go.flag");
        var script = _dir.Write("waits.csx", """
            await Step("before", () => 1);
            return await Step("wait", async () =>
            {
                while (!File.Exists(Input!["flag"]!.GetValue<string>())) await Task.Delay(20, CancellationToken);
                return 2;
            });
            """);

        var run = await manager.StartAsync(script, new JsonObject { ["flag"] = flag }, CancellationToken.None);
        await foreach (var e in RunEventReader.ReadAsync(harness.Journal, run.Id, run.Events, 0, TimeProvider.System, null, CancellationToken.None))
        {
            if (e.Step.StepId == "wait")
            {
                break;
            }
        }

        manager.Cancel(run.Id).Should().BeTrue();
        (await run.Completion).Run.Status.Should().Be(RunStatus.Cancelled);

        var first = SpansOf(run.Id);
        first.Should().HaveCount(3, "the run and its two steps, every one ended");
        var firstRoot = first.Single(s => s.GetTagItem("orchestrator.step.id") == null);
        firstRoot.GetTagItem("orchestrator.run.status").Should().Be("cancelled");
        firstRoot.Status.Should().Be(ActivityStatusCode.Error);

        File.WriteAllText(flag, "go");
        var resumed = await manager.ResumeAsync(run.Id, force: false, CancellationToken.None);
        (await resumed.Completion).Run.Status.Should().Be(RunStatus.Succeeded);

        var second = SpansOf(run.Id).Except(first).ToList();
        var secondRoot = second.Single(s => s.GetTagItem("orchestrator.step.id") == null);
        secondRoot.GetTagItem("orchestrator.run.resumed").Should().Be(true);
        secondRoot.Links.Select(l => l.Context.SpanId).Should().Equal(firstRoot.SpanId);
        second.Where(s => s != secondRoot).Select(s => s.GetTagItem("orchestrator.step.id")).Should().Equal("wait");

        _meter.ForceFlush();
        Sum("orchestrator.steps.in_flight").Should().Be(0);
    }

    [Fact]
    public async Task The_run_command_emits_the_runs_spans_when_an_exporter_listens()
    {
        var script = _dir.Write("cli.csx", """
            await Step("one", () => 1);
            return await Step("two", () => 2);
            """);

        var result = await CliRunner.RunAsync("run", script, "--store", Path.Combine(_dir.Path, "store"), "--json");
        result.ExitCode.Should().Be(0, result.ToString());
        var runId = JsonNode.Parse(result.LastLine)!["runId"]!.GetValue<string>();

        SpansOf(runId).Select(s => s.DisplayName).Should().BeEquivalentTo("run cli.csx", "one", "two");
    }

    private (RunManager Manager, EngineHarness Harness) Manager()
    {
        var harness = new EngineHarness(_time, null, [new AdvancingAgent(_time, AgentTime)], []);
        var manager = new RunManager(harness.Engine, harness.Journal, new Programs(), Logger.None)
        {
            Observers = [RunTelemetry.Factory()],
        };
        return (manager, harness);
    }

    private List<Activity> SpansOf(string runId)
    {
        lock (_spans)
        {
            return [.. _spans.Where(s => (string?)s.GetTagItem("orchestrator.run.id") == runId)];
        }
    }

    private long Sum(string name)
    {
        long total = 0;
        foreach (var metric in _metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                total += point.GetSumLong();
            }
        }

        return total;
    }

    private (long Count, double Sum) Histogram(string name)
    {
        long count = 0;
        double sum = 0;
        foreach (var metric in _metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                count += point.GetHistogramCount();
                sum += point.GetHistogramSum();
            }
        }

        return (count, sum);
    }

    /// <summary>Compiles each script as it is asked for.</summary>
    private sealed class Programs : IProgramSource
    {
        public IWorkflowProgram Get(string scriptPath, CancellationToken cancellationToken) => CSharpWorkflow.Compile(scriptPath, Logger.None, cancellationToken);
    }

    /// <summary>Takes exactly <paramref name="duration"/> of the fake clock.</summary>
    private sealed class AdvancingAgent(FakeTimeProvider time, TimeSpan duration) : IAgent
    {
        public string Kind => "advance";

        public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
        {
            time.Advance(duration);
            return ValueTask.FromResult(AgentResult.Ok(task.Input?.DeepClone()));
        }
    }
}
