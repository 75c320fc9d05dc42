using System.Text.Json.Nodes;
using Orchestrator.Core.Verbs;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Scripting.CSharp;

/// <summary>
/// Master-worker in C#: <c>await MasterWorker("count", task, Split(t => …), Worker("shell"), Integrate(r => …), concurrency: 3)</c>,
/// or with a master agent: <c>await MasterWorker("summarise", task, master: "planner", worker: "shell")</c>.
/// </summary>
public sealed partial class WorkflowGlobals
{
    /// <summary>
    /// Runs a master-worker step: <paramref name="master"/> splits <paramref name="task"/> into subtasks, <paramref name="worker"/>
    /// runs them at most <paramref name="concurrency"/> at a time (default: the processor count), <paramref name="onProgress"/>
    /// hears about each as it finishes, and <paramref name="integrate"/> (default: the master agent, else the array of results)
    /// puts the results together. A worker agent's failure tries <paramref name="recovery"/> (default: the workflow's chain);
    /// a subtask that still fails fails the step, naming it, unless <paramref name="continueOnFailure"/>.
    /// </summary>
    /// <remarks><paramref name="onProgress"/> is for watching (logging, counting): it is not a step, and does not run again on replay.</remarks>
    public Task<JsonNode?> MasterWorker(
        string name,
        object? task,
        MasterRole master,
        WorkerRole worker,
        IntegrateRole? integrate = null,
        int? concurrency = null,
        Action<MasterWorkerProgress>? onProgress = null,
        RecoveryChain? recovery = null,
        TimeSpan? timeout = null,
        bool continueOnFailure = VerbDefaults.ContinueOnFailure)
    {
        ArgumentNullException.ThrowIfNull(master);
        ArgumentNullException.ThrowIfNull(worker);
        var options = Read(DslVerbs.MasterWorker, ("concurrency", concurrency), ("timeoutMs", timeout), ("continueOnFailure", continueOnFailure));
        var plan = new MasterWorkerPlan
        {
            MasterAgent = master.Agent,
            Split = master.Split,
            WorkerAgent = worker.Agent,
            Worker = worker.Body,
            Integrate = integrate?.Body,
            OnProgress = onProgress is null ? null : (progress, _) =>
            {
                onProgress(progress);
                return Task.CompletedTask;
            },
            Concurrency = options.Optional<int>("concurrency"),
            Recovery = recovery,
            Timeout = options.Optional<TimeSpan>("timeoutMs"),
            ContinueOnFailure = options.Get<bool>("continueOnFailure"),
        };
        return Scope.MasterWorkerAsync(name, ToJson(task), plan, CancellationToken);
    }

    /// <summary>A master agent: asked to split (<c>{ phase: "split", task }</c>) and, unless an integrate function is given, to integrate.</summary>
    public MasterRole Master(string kind) => kind;

    /// <summary>The master as script code: gets the task, returns the subtasks (an array, or <c>{ subtasks = … }</c>).</summary>
    public MasterRole Split<T>(Func<JsonNode?, T> split) =>
        new(null, (scope, task, _) => InScope(scope, () => Task.FromResult(split(task))));

    /// <inheritdoc cref="Split{T}(Func{JsonNode?, T})"/>
    public MasterRole Split<T>(Func<JsonNode?, Task<T>> split) =>
        new(null, (scope, task, _) => InScope(scope, () => split(task)));

    /// <summary>A worker agent kind: runs once per subtask, with the subtask as its input.</summary>
    public WorkerRole Worker(string kind) => kind;

    /// <summary>The worker as script code: gets a subtask, returns its result; steps it runs nest under the subtask's id.</summary>
    public WorkerRole Worker<T>(Func<JsonNode?, Task<T>> work) =>
        new(null, (scope, subtask, _, _) => InScope(scope, () => work(subtask)));

    /// <summary>The worker as script code that also gets the subtask's index.</summary>
    public WorkerRole Worker<T>(Func<JsonNode?, int, Task<T>> work) =>
        new(null, (scope, subtask, index, _) => InScope(scope, () => work(subtask, index)));

    /// <inheritdoc cref="Worker{T}(Func{JsonNode?, Task{T}})"/>
    public WorkerRole Worker<T>(Func<JsonNode?, T> work) =>
        new(null, (scope, subtask, _, _) => InScope(scope, () => Task.FromResult(work(subtask))));

    /// <inheritdoc cref="Worker{T}(Func{JsonNode?, int, Task{T}})"/>
    public WorkerRole Worker<T>(Func<JsonNode?, int, T> work) =>
        new(null, (scope, subtask, index, _) => InScope(scope, () => Task.FromResult(work(subtask, index))));

    /// <summary>Puts the results together (in subtask order; a failed one is <c>{ error }</c> when continuing on failure).</summary>
    public IntegrateRole Integrate<T>(Func<JsonArray, T> integrate) =>
        new((scope, results, _, _) => InScope(scope, () => Task.FromResult(integrate(results))));

    /// <inheritdoc cref="Integrate{T}(Func{JsonArray, T})"/>
    public IntegrateRole Integrate<T>(Func<JsonArray, Task<T>> integrate) =>
        new((scope, results, _, _) => InScope(scope, () => integrate(results)));

    /// <summary>Puts the results together, with the original task.</summary>
    public IntegrateRole Integrate<T>(Func<JsonArray, JsonNode?, T> integrate) =>
        new((scope, results, task, _) => InScope(scope, () => Task.FromResult(integrate(results, task))));

    /// <inheritdoc cref="Integrate{T}(Func{JsonArray, JsonNode?, T})"/>
    public IntegrateRole Integrate<T>(Func<JsonArray, JsonNode?, Task<T>> integrate) =>
        new((scope, results, task, _) => InScope(scope, () => integrate(results, task)));
}

/// <summary>Who splits a master-worker task: a master agent kind (a string converts) or a split function (<c>Split(t => …)</c>).</summary>
public sealed class MasterRole
{
    internal MasterRole(string? agent, Func<WorkflowScope, JsonNode?, CancellationToken, Task<JsonNode?>>? split)
    {
        Agent = agent;
        Split = split;
    }

    internal string? Agent { get; }

    internal Func<WorkflowScope, JsonNode?, CancellationToken, Task<JsonNode?>>? Split { get; }

    /// <summary>A master agent kind, e.g. <c>master: "planner"</c>.</summary>
    public static implicit operator MasterRole(string kind) => new(kind, null);
}

/// <summary>Who works on a subtask: a worker agent kind (a string converts) or a worker function (<c>Worker(async s => …)</c>).</summary>
public sealed class WorkerRole
{
    internal WorkerRole(string? agent, Func<WorkflowScope, JsonNode?, int, CancellationToken, Task<JsonNode?>>? body)
    {
        Agent = agent;
        Body = body;
    }

    internal string? Agent { get; }

    internal Func<WorkflowScope, JsonNode?, int, CancellationToken, Task<JsonNode?>>? Body { get; }

    /// <summary>A worker agent kind, e.g. <c>worker: "shell"</c>.</summary>
    public static implicit operator WorkerRole(string kind) => new(kind, null);
}

/// <summary>How the results are put together: an integrate function (<c>Integrate(results => …)</c>).</summary>
public sealed class IntegrateRole
{
    internal IntegrateRole(Func<WorkflowScope, JsonArray, JsonNode?, CancellationToken, Task<JsonNode?>> body) => Body = body;

    internal Func<WorkflowScope, JsonArray, JsonNode?, CancellationToken, Task<JsonNode?>> Body { get; }
}
