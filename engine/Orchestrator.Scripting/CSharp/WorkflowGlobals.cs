using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Orchestrator.Abstractions;
using Orchestrator.Core.Verbs;
using Orchestrator.Core.Workflow;
using Serilog;

namespace Orchestrator.Scripting.CSharp;

/// <summary>
/// What a .csx workflow sees as globals: the same verbs as the JavaScript front end. Each verb is a
/// journaled step; inside a step's body the verbs act in that step's scope, which flows with the
/// async call (AsyncLocal), so nested and parallel steps get stable, nested ids.
/// </summary>
public sealed partial class WorkflowGlobals
{
    private static readonly AsyncLocal<WorkflowScope?> CurrentScope = new();

    private readonly WorkflowScope _root;
    private readonly string _scriptDirectory;
    private readonly ILogger _log;

    // One serializer options per run: its type cache must not pin a script's load context after the run.
    private readonly JsonSerializerOptions _json = new() { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    internal WorkflowGlobals(WorkflowScope root, string scriptDirectory, ILogger log, CancellationToken cancellationToken)
    {
        _root = root;
        _scriptDirectory = scriptDirectory;
        _log = log;
        CancellationToken = cancellationToken;
    }

    /// <summary>The run's input (<c>--input</c>), or null.</summary>
    public JsonNode? Input => _root.Input;

    /// <summary>The run's id.</summary>
    public string RunId => _root.RunId;

    /// <summary>Cancelled when the run is (Ctrl+C, timeout); in the REPL, when the running submission is.</summary>
    public CancellationToken CancellationToken { get; internal set; }

    private WorkflowScope Scope => CurrentScope.Value ?? _root;

    /// <summary>An agent of the given kind, e.g. <c>Agent("shell")</c>.</summary>
    public AgentHandle Agent(string kind) => new(this, kind);

    /// <summary>Runs <paramref name="body"/> as a named, journaled step and returns its result as JSON.</summary>
    public Task<JsonNode?> Step<T>(string name, Func<Task<T>> body) =>
        Scope.StepAsync(name, (scope, _) => InScope(scope, body), CancellationToken);

    /// <inheritdoc cref="Step{T}(string, Func{Task{T}})"/>
    public Task<JsonNode?> Step<T>(string name, Func<T> body) =>
        Scope.StepAsync(name, (scope, _) => InScope(scope, () => Task.FromResult(body())), CancellationToken);

    /// <summary>Runs stages in order, passing the context along (objects merge into it); returns the final context.</summary>
    public Task<JsonNode?> Sequence(string name, object? context, params SequenceStage[] stages) =>
        Scope.SequenceAsync(name, ToJson(context), stages, CancellationToken);

    /// <summary>A stage of <see cref="Sequence"/>: gets the context, returns what to pass on.</summary>
    public SequenceStage Stage<T>(string name, Func<JsonNode?, Task<T>> body) =>
        new(name, (scope, context, _) => InScope(scope, () => body(context)));

    /// <summary>Runs branches concurrently and merges their outcomes.</summary>
    public Task<JsonNode?> Parallel(string name, MergePolicy merge, params ParallelBranch[] branches) =>
        Scope.ParallelAsync(name, merge, branches, context: null, CancellationToken);

    /// <summary>Runs branches concurrently, each with its own copy of <paramref name="context"/>, and merges their outcomes.</summary>
    public Task<JsonNode?> Parallel(string name, object? context, MergePolicy merge, params ParallelBranch[] branches) =>
        Scope.ParallelAsync(name, merge, branches, ToJson(context), CancellationToken);

    /// <summary>A branch of <see cref="Parallel(string, MergePolicy, ParallelBranch[])"/>; an optional one that fails is dropped from the merge.</summary>
    public ParallelBranch Branch<T>(string name, Func<Task<T>> body, bool optional = false) =>
        new(name, (scope, _, _) => InScope(scope, body)) { Optional = optional };

    /// <summary>A branch that receives its own copy of the parallel step's context.</summary>
    public ParallelBranch Branch<T>(string name, Func<JsonNode?, Task<T>> body, bool optional = false) =>
        new(name, (scope, context, _) => InScope(scope, () => body(context))) { Optional = optional };

    /// <summary>A recovery chain starting with <paramref name="strategy"/>; add links with <c>.Then(...)</c>.</summary>
    public RecoveryChain Recovery(string strategy, object? options = null) => RecoveryChain.None.Then(strategy, ToJson(options));

    /// <summary>Sets the recovery chain of every agent step that does not name its own.</summary>
    public void SetRecovery(RecoveryChain chain) => _root.SetRecovery(chain);

    /// <summary>Sets the per-attempt timeout of every agent step that does not give its own; null for none.</summary>
    public void SetStepTimeout(TimeSpan? timeout) => _root.SetStepTimeout(timeout);

    /// <summary>Sets the rule for how bad a failure is: return a severity, or null to keep the agent's.</summary>
    public void ClassifyFailures(Func<StepFailure, Severity?>? rule) =>
        _root.SetFailureClassifier(rule is null ? null : failure => Task.FromResult(rule(failure)));

    /// <summary>Records the run's handoff: data for the report and, optionally, a Scriban template (relative to the script).</summary>
    public Task<JsonNode?> Handoff(string name, object? data = null, string? template = null) =>
        Scope.HandoffAsync(name, ToJson(data), template is null ? null : Path.Combine(_scriptDirectory, template), CancellationToken);

    /// <summary>Marks the last known good state: a rollback undoes only the steps finished after it.</summary>
    public Task Checkpoint(string name) => Scope.CheckpointAsync(name, CancellationToken);

    /// <summary>The system state as a step: agents, MCP servers, connectors, open reviews and what learning prefers per phase.</summary>
    public Task<JsonNode?> SystemState() => Scope.SystemStateAsync(CancellationToken);

    /// <summary>Writes a line to the run's log.</summary>
    public void Log(string message) => _log.Information("{ScriptMessage}", message);

    /// <summary>Converts any value to the JSON that crosses step boundaries.</summary>
    public JsonNode? Json(object? value) => ToJson(value);

    /// <summary>
    /// Serializes a throwaway anonymous object as <see cref="ToJson"/> does, so that the reflection serializer's
    /// first use (its resolver, converters and member accessors) is paid before a script's first step.
    /// </summary>
    internal static void Prepare() =>
        JsonSerializer.SerializeToNode(
            new { text = "", items = new[] { "" }, count = 0, ratio = 0.0, flag = false, nested = new { text = "" } },
            new JsonSerializerOptions { TypeInfoResolver = new DefaultJsonTypeInfoResolver() });

    internal JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        JsonNode node => node,
        _ => JsonSerializer.SerializeToNode(value, value.GetType(), _json),
    };

    /// <summary>
    /// Reads a verb's scalar options through its core definition, so that C# checks them as JavaScript does: the same
    /// bounds, the same messages. Durations are given as <see cref="TimeSpan"/>s.
    /// </summary>
    internal static VerbArguments Read(VerbDefinition verb, params (string Name, object? Value)[] given)
    {
        var options = new JsonObject();
        foreach (var (name, value) in given)
        {
            options[name] = value switch
            {
                null => null,
                TimeSpan duration => duration.TotalMilliseconds,
                int n => n,
                double n => n,
                bool flag => flag,
                string text => text,
                _ => throw new ArgumentException($"{verb.Usage}: option '{name}' cannot be read from a {value.GetType().Name}"),
            };
        }

        return verb.Read(options);
    }

    internal Task<JsonNode?> RunAgent(string kind, object? input, StepOptions options) =>
        Scope.RunAgentAsync(kind, ToJson(input), options, CancellationToken);

    internal Func<WorkflowScope, CancellationToken, Task> Compensation(Func<Task> undo) =>
        (scope, _) => InScope(scope, async () =>
        {
            await undo().ConfigureAwait(false);
            return (object?)null;
        });

    private async Task<JsonNode?> InScope<T>(WorkflowScope scope, Func<Task<T>> body)
    {
        // Set inside this async method, so the change flows into the body and ends with it.
        CurrentScope.Value = scope;
        return ToJson(await body().ConfigureAwait(false));
    }
}

/// <summary>An agent kind bound to a workflow, as <c>Agent("shell")</c> returns it.</summary>
public sealed class AgentHandle
{
    private readonly WorkflowGlobals _globals;

    internal AgentHandle(WorkflowGlobals globals, string kind)
    {
        _globals = globals;
        Kind = kind;
    }

    public string Kind { get; }

    /// <summary>
    /// Runs the agent on <paramref name="input"/> as a step named <paramref name="name"/> (default: the kind).
    /// A failure tries <paramref name="recovery"/> (default: the workflow's chain), then goes by severity:
    /// critical throws, moderate and minor return <paramref name="fallback"/>. <paramref name="compensate"/>
    /// undoes the step if a rollback reaches it.
    /// </summary>
    public Task<JsonNode?> RunAsync(
        object? input = null,
        string? name = null,
        RecoveryChain? recovery = null,
        TimeSpan? timeout = null,
        Severity? severity = null,
        object? fallback = null,
        Func<Task>? compensate = null) =>
        _globals.RunAgent(Kind, input, new StepOptions
        {
            Name = name,
            Recovery = recovery,
            Timeout = timeout,
            Severity = severity,
            Fallback = _globals.ToJson(fallback),
            Compensation = compensate is null ? null : _globals.Compensation(compensate),
        });
}

/// <summary>The merge policies of <c>Parallel</c>, by the names scripts use.</summary>
public static class Merge
{
    public static MergePolicy AllMustSucceed => MergePolicy.AllMustSucceed;

    public static MergePolicy FirstSuccess => MergePolicy.FirstSuccess;

    public static MergePolicy CollectAll => MergePolicy.CollectAll;

    /// <summary>Merges the branches' objects key by key; <paramref name="onConflict"/> gets (key, current, incoming) for keys set differently.</summary>
    public static MergePolicy Combine(Func<string, JsonNode?, JsonNode?, JsonNode?> onConflict) =>
        MergePolicy.Combine((key, current, incoming) => Task.FromResult(onConflict(key, current, incoming)));
}

/// <summary>Builds recovery chains with script values as options: <c>Recovery("retry").Then("fallback", new { agent = "backup" })</c>.</summary>
public static class RecoveryChainExtensions
{
    public static RecoveryChain Then(this RecoveryChain chain, string strategy, object? options) =>
        chain.Then(strategy, options is null or JsonNode ? (JsonNode?)options : JsonSerializer.SerializeToNode(options, options.GetType(), new JsonSerializerOptions { TypeInfoResolver = new DefaultJsonTypeInfoResolver() }));
}
