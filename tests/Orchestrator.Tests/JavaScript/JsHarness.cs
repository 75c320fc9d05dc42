using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.JavaScript;
using Serilog.Core;

namespace Orchestrator.Tests.JavaScript;

/// <summary>Writes .js workflows to a scratch folder and runs them through the real engine over an in-memory journal.</summary>
internal sealed class JsHarness : IDisposable
{
    public JsHarness(params IAgent[] extra)
        : this(TimeProvider.System, extra)
    {
    }

    public JsHarness(TimeProvider time, params IAgent[] extra)
    {
        Directory.CreateDirectory(Dir);
        Gate = new JsGateAgent();
        Hang = new JsHangAgent();
        var agents = new List<IAgent> { new JsEchoAgent(), new JsFailAgent(), Gate, Hang };
        agents.AddRange(extra);
        Engine = new WorkflowEngine(Journal, new AgentRegistry(agents), reports: null, time, Logger.None);
    }

    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "orch-js-tests", Guid.NewGuid().ToString("N"));

    public InMemoryJournal Journal { get; } = new();

    public WorkflowEngine Engine { get; }

    public JsGateAgent Gate { get; }

    public JsHangAgent Hang { get; }

    public string Write(string name, string source)
    {
        var path = Path.Combine(Dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, source);
        return path;
    }

    public JavaScriptWorkflow Compile(string source, JavaScriptOptions? options = null, Serilog.ILogger? log = null, string name = "workflow.js") =>
        JavaScriptWorkflow.Compile(Write(name, source), options ?? JavaScriptOptions.Default, log ?? Logger.None);

    public Task<JsRun> RunAsync(string source, JsonNode? input = null, JavaScriptOptions? options = null, CancellationToken cancellationToken = default) =>
        RunAsync(Compile(source, options), input, cancellationToken);

    public async Task<JsRun> RunAsync(JavaScriptWorkflow program, JsonNode? input = null, CancellationToken cancellationToken = default)
    {
        // A run that hangs is a failure, not a stuck test run.
        var outcome = await Engine.RunAsync(program, input, cancellationToken).WaitAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
        var steps = StepFolding.Fold(await Journal.GetEntriesAsync(outcome.Run.Id, CancellationToken.None));
        return new JsRun(outcome, steps, program.ScriptPath);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS temp cleaner.
        }
    }
}

internal sealed record JsRun(RunOutcome Outcome, IReadOnlyList<StepRecord> Steps, string ScriptPath)
{
    public RunRecord Run => Outcome.Run;

    public JsonNode? Result => Run.Result;

    public StepRecord Step(string id) => Steps.Single(s => s.Id == id);

    public IEnumerable<string> Ids => Steps.Select(s => s.Id);

    public string Json(JsonNode? node = null) => (node ?? Result)?.ToJsonString() ?? "null";
}

/// <summary>Returns its input; waits <c>delayMs</c> first when the input has it.</summary>
internal sealed class JsEchoAgent : IAgent
{
    public string Kind => "echo";

    public async ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        if (task.Input is JsonObject o && o["delayMs"] is JsonValue delay)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(delay.GetValue<double>()), cancellationToken);
        }

        return AgentResult.Ok(task.Input?.DeepClone());
    }
}

/// <summary>Always fails, with the input's <c>message</c> (or "boom").</summary>
internal sealed class JsFailAgent : IAgent
{
    public string Kind => "fail";

    public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AgentResult.Fail((task.Input as JsonObject)?["message"]?.GetValue<string>() ?? "boom"));
}

/// <summary>
/// <c>{ signal: "a", wait: "b", value }</c>: opens gate a, then waits (10 s at most) until gate b opens and returns
/// <c>value</c>. Two calls that wait for each other's gate only finish if they really run at the same time.
/// </summary>
internal sealed class JsGateAgent : IAgent
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();

    public string Kind => "gate";

    public TaskCompletionSource Gate(string name) =>
        _gates.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public async ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        var input = task.Input as JsonObject;
        if (input?["signal"]?.GetValue<string>() is { } signal)
        {
            Gate(signal).TrySetResult();
        }

        if (input?["wait"]?.GetValue<string>() is { } wait)
        {
            try
            {
                await Gate(wait).Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
            }
            catch (TimeoutException)
            {
                return AgentResult.Fail($"gate '{wait}' never opened: the calls did not overlap");
            }
        }

        return AgentResult.Ok(input?["value"]?.DeepClone());
    }
}

/// <summary>Waits until it is cancelled, and says when it started and when it was cancelled.</summary>
internal sealed class JsHangAgent : IAgent
{
    public string Kind => "hang";

    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        Started.TrySetResult();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Cancelled.TrySetResult();
            throw;
        }

        return AgentResult.Fail("was never cancelled");
    }
}
