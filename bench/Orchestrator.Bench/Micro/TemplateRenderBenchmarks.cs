using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Reporting;

namespace Orchestrator.Bench.Micro;

/// <summary>Rendering the default handoff report (Markdown and HTML) of a run of fifty steps from a parsed, cached template.</summary>
[MemoryDiagnoser]
public class TemplateRenderBenchmarks
{
    private readonly ReportWriter _writer = new(Path.GetTempPath());
    private readonly HandoffPackage _package = Package();

    [Benchmark]
    public string Markdown() => _writer.Render(_package, ReportFormat.Markdown, templatePath: null);

    [Benchmark]
    public string Html() => _writer.Render(_package, ReportFormat.Html, templatePath: null);

    private static HandoffPackage Package()
    {
        var started = DateTimeOffset.UnixEpoch;
        var run = new RunRecord
        {
            Id = "bench", Script = "bench.csx", ScriptHash = "bench", Language = "csharp", EngineVersion = "bench",
            Status = RunStatus.Succeeded, StartedAt = started, EndedAt = started.AddSeconds(5),
        };
        var steps = Enumerable.Range(0, 50).Select(i => new StepRecord
        {
            RunId = "bench", Id = "step" + i, Name = "step" + i, Kind = "agent", Agent = "shell", Status = RunStatus.Succeeded, Attempt = 1,
            Input = new JsonObject { ["command"] = "echo", ["args"] = new JsonArray(JsonValue.Create(i)) },
            Output = new JsonObject { ["exitCode"] = 0, ["stdout"] = "line " + i },
            Seq = i, StartedAt = started.AddMilliseconds(i * 10), EndedAt = started.AddMilliseconds(i * 10 + 8),
        }).ToList();
        return new HandoffPackage(run, steps, new JsonObject { ["summary"] = "fifty steps" }, null, "bench");
    }
}
