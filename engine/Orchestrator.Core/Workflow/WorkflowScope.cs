using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Health;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Workflow;

/// <summary>
/// The workflow DSL as the language front ends see it: every verb is a journaled step whose id is
/// derived from its name and its place in the step tree, never from .NET types, so ids stay stable
/// across engine versions and languages. A verb's body runs in a child scope, so nested steps get
/// nested ids (<c>checks/unit/shell</c>).
/// </summary>
public sealed partial class WorkflowScope
{
    private readonly WorkflowRun _run;
    private readonly string? _path;

    // Inside a rollback's compensation: its agent calls go through even an open circuit, or a failed publish would
    // never be undone because the agent it must undo with had failed before.
    private readonly bool _compensating;
    private Dictionary<string, int>? _ordinals;

    internal WorkflowScope(WorkflowRun run, string? path, bool compensating = false)
    {
        _run = run;
        _path = path;
        _compensating = compensating;
    }

    /// <summary>The id of the run this scope belongs to.</summary>
    public string RunId => _run.Id;

    /// <summary>The id of the step this scope is the body of; null at the top of the script.</summary>
    public string? StepId => _path;

    /// <summary>The run's input (<c>--input</c>), or null.</summary>
    public JsonNode? Input => _run.Input;

    /// <summary>The agent kinds the loaded plugins provide.</summary>
    public IReadOnlyCollection<string> AgentKinds => _run.Agents.AgentKinds;

    /// <summary>The recovery strategies the loaded plugins provide.</summary>
    public IReadOnlyCollection<string> StrategyNames => _run.Agents.StrategyNames;

    /// <summary>Sets the recovery chain of every agent step that does not name its own.</summary>
    public void SetRecovery(RecoveryChain chain) => _run.DefaultRecovery = chain ?? throw new ArgumentNullException(nameof(chain));

    /// <summary>Sets the per-attempt timeout of every agent step that does not give its own; null for none.</summary>
    public void SetStepTimeout(TimeSpan? timeout)
    {
        if (timeout is { } t && t <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), t, "a step timeout must be positive");
        }

        _run.DefaultStepTimeout = timeout;
    }

    /// <summary>Sets the script's rule for how bad a failure is (critical, moderate, minor); null to trust the agents.</summary>
    public void SetFailureClassifier(FailureClassifier? classifier) => _run.Classifier = classifier;

    /// <summary>
    /// Runs the agent <paramref name="kind"/> on <paramref name="input"/> as a step. A failure goes through
    /// the recovery chain, then by severity: critical throws <see cref="StepFailedException"/>, moderate and
    /// minor return <see cref="StepOptions.Fallback"/> and leave the step degraded.
    /// </summary>
    public Task<JsonNode?> RunAgentAsync(string kind, JsonNode? input, StepOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        if (options?.Compensation is not null)
        {
            return RunAgentWithUndoAsync(kind, input, options, cancellationToken);
        }

        return RunStepCoreAsync(options?.Name ?? kind, "agent", kind, input, (kind, input, options), AgentBody, note: null, cancellationToken);
    }

    private static Task<JsonNode?> AgentBody(WorkflowScope scope, string id, (string Kind, JsonNode? Input, StepOptions? Options) step, CancellationToken ct) =>
        scope.ExecuteAgentAsync(step.Kind, id, step.Input, step.Options, ct);

    private async Task<JsonNode?> RunAgentWithUndoAsync(string kind, JsonNode? input, StepOptions options, CancellationToken cancellationToken)
    {
        var name = options.Name ?? kind;
        var note = new StepNote();
        var output = await RunStepCoreAsync(name, "agent", kind, input, (kind, input, (StepOptions?)options), AgentBody, note, cancellationToken).ConfigureAwait(false);

        // Registered on replay too, so that a resumed run can still roll back what it did before the crash.
        if (options.Compensation is { } undo && !note.Degraded)
        {
            _run.RegisterCompensation(new Compensation(note.Id!, _path, name, "agent", kind, undo));
        }

        return output;
    }

    /// <summary>Journals each reload: a refused file as a failed event with its cause (the old version stays in use).</summary>
    private async Task RecordReloadsAsync(IReadOnlyList<Plugins.PluginReload> reloads)
    {
        foreach (var reload in reloads)
        {
            await _run.RecordEventAsync("plugin-reload", Path.GetFileName(reload.Path), null, reload.ToJson(), reload.Error).ConfigureAwait(false);
        }
    }

    /// <summary>Marks the last known good state: a rollback undoes only the steps finished after the latest checkpoint.</summary>
    public async Task CheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        await RunStepAsync(name, "checkpoint", null, null, (_, _, _) => Task.FromResult<JsonNode?>(null), cancellationToken).ConfigureAwait(false);
        _run.ClearCompensations();
    }

    /// <summary>Runs the compensations since the last checkpoint, newest first, each as a journaled step; marks the undone steps compensated.</summary>
    internal async Task<int> RollbackAsync(CancellationToken ct)
    {
        var undo = _run.TakeCompensations();
        if (undo.Count == 0)
        {
            return 0;
        }

        var plan = new JsonObject { ["steps"] = new JsonArray([.. undo.Select(c => JsonValue.Create(c.StepId))]) };
        await RunStepAsync("compensate", "rollback", null, plan, async (scope, _, t) =>
        {
            foreach (var step in undo)
            {
                await scope.RunStepAsync("undo", "compensation", step.Agent, new JsonObject { ["step"] = step.StepId }, async (s, _, c) =>
                {
                    await step.Undo(s, c).ConfigureAwait(false);
                    return null;
                }, t).ConfigureAwait(false);
                await _run.AppendAsync(step.StepId, StepEvent.Compensated, step.ParentId, step.Name, step.Kind, step.Agent, _run.AttemptFor(step.StepId), null, "compensated by a rollback").ConfigureAwait(false);
            }

            return new JsonObject { ["compensated"] = undo.Count };
        }, ct).ConfigureAwait(false);
        return undo.Count;
    }

    /// <summary>Runs script code as a named step; its result is journaled, and steps inside it nest under its id.</summary>
    public Task<JsonNode?> StepAsync(string name, Func<WorkflowScope, CancellationToken, Task<JsonNode?>> body, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(body);
        return RunStepAsync(name, "step", null, null, (scope, _, ct) => body(scope, ct), cancellationToken);
    }

    /// <summary>
    /// Runs stages one after another, passing a context along: an object a stage returns is merged into
    /// the context, any other value replaces it, and null leaves it as it was. Returns the final context.
    /// </summary>
    public Task<JsonNode?> SequenceAsync(string name, JsonNode? context, IReadOnlyList<SequenceStage> stages, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(stages);
        return RunStepAsync(name, "sequence", null, context, async (scope, _, ct) =>
        {
            var current = context?.DeepClone();
            foreach (var stage in stages)
            {
                var passed = current?.DeepClone();
                var output = await scope.RunStepAsync(stage.Name, "stage", null, passed, (s, _, t) => stage.Body(s, passed, t), ct);
                current = Advance(current, output);
            }

            return current;
        }, cancellationToken);
    }

    /// <summary>Runs branches concurrently, each with its own copy of <paramref name="context"/>, and merges their outcomes with <paramref name="merge"/>.</summary>
    public Task<JsonNode?> ParallelAsync(string name, MergePolicy merge, IReadOnlyList<ParallelBranch> branches, JsonNode? context = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(merge);
        ArgumentNullException.ThrowIfNull(branches);
        var duplicate = branches.GroupBy(b => b.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"parallel '{name}' has two branches named '{duplicate.Key}'", nameof(branches));
        }

        var input = new JsonObject { ["merge"] = merge.Name, ["branches"] = new JsonArray([.. branches.Select(b => JsonValue.Create(b.Name))]) };
        return RunStepAsync(name, "parallel", null, input, (scope, _, ct) => scope.RunBranchesAsync(merge, branches, context, ct), cancellationToken);
    }

    /// <summary>
    /// Records the run's handoff: the data the report shows and, optionally, the Scriban template to render it with.
    /// The last handoff of a run is the one its report uses.
    /// </summary>
    public Task<JsonNode?> HandoffAsync(string name, JsonNode? data, string? templatePath = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var fullTemplate = templatePath is null ? null : Path.GetFullPath(templatePath);
        if (fullTemplate is not null)
        {
            _run.Reports?.Validate(fullTemplate);
        }

        var input = new JsonObject { ["template"] = fullTemplate, ["data"] = data?.DeepClone() };
        return RunStepAsync(name, "handoff", null, input, (_, _, _) => Task.FromResult(data), cancellationToken);
    }

    internal Task<JsonNode?> RunStepAsync(
        string name,
        string kind,
        string? agent,
        JsonNode? input,
        Func<WorkflowScope, string, CancellationToken, Task<JsonNode?>> body,
        CancellationToken cancellationToken) =>
        RunStepCoreAsync(name, kind, agent, input, body, static (scope, id, run, ct) => run(scope, id, ct), note: null, cancellationToken);

    /// <summary>A step whose caller needs to know its id and whether it degraded, besides its output.</summary>
    private async Task<StepOutcome> RunStepCoreAsync(
        string name,
        string kind,
        string? agent,
        JsonNode? input,
        Func<WorkflowScope, string, CancellationToken, Task<JsonNode?>> body,
        CancellationToken cancellationToken)
    {
        var note = new StepNote();
        var output = await RunStepCoreAsync(name, kind, agent, input, body, static (scope, id, run, ct) => run(scope, id, ct), note, cancellationToken).ConfigureAwait(false);
        return new StepOutcome(note.Id!, output, note.Degraded, note.Replayed) { OverBudget = note.OverBudget };
    }

    /// <summary>
    /// The one place a step is journaled: replay if it finished before, else append its start, run its
    /// body in a child scope, and append exactly one terminal event (succeeded, degraded or failed).
    /// The body takes its data as <paramref name="state"/> rather than in a closure: every step of a run comes here.
    /// </summary>
    private async Task<JsonNode?> RunStepCoreAsync<TState>(
        string name,
        string kind,
        string? agent,
        JsonNode? input,
        TState state,
        Func<WorkflowScope, string, TState, CancellationToken, Task<JsonNode?>> body,
        StepNote? note,
        CancellationToken cancellationToken)
    {
        var id = NextId(name);
        if (note is not null)
        {
            note.Id = id;
        }

        // A parked run starts nothing more: what the script does after a wait it caught runs on the resume.
        if (_run.Parked is { } parked)
        {
            throw new Waits.RunParkedException(parked);
        }

        // A new run has nothing to replay: its steps skip the lookup, every step of every run comes here.
        if (_run.Resumed)
        {
            var (replayed, status, earlier) = await _run.TryReplayAsync(id).ConfigureAwait(false);
            if (replayed)
            {
                // Read from the journal afresh: the script owns what it is given.
                note?.Degraded = status == RunStatus.Degraded;
                note?.Replayed = true;
                return earlier;
            }
        }

        var attempt = _run.AttemptFor(id);
        var ct = cancellationToken.CanBeCanceled ? cancellationToken : _run.Cancellation;
        var startedAt = _run.Time.GetTimestamp();
        var started = _run.AppendAsync(id, StepEvent.Started, _path, name, kind, agent, attempt, input, error: null);
        JsonNode? output;
        try
        {
            ct.ThrowIfCancellationRequested();
            output = await body(new WorkflowScope(_run, id, _compensating || kind == "compensation"), id, state, ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            return await EndFailedStepAsync(ex, started, id, name, kind, agent, attempt, startedAt, note).ConfigureAwait(false);
        }

        // A step a wait parked inside must not end: its body made do without the wait (a merge that collects failures).
        if (_run.Parked is { } inside && inside.StepId.StartsWith(id + "/", StringComparison.Ordinal))
        {
            return await EndFailedStepAsync(new Waits.RunParkedException(inside), started, id, name, kind, agent, attempt, startedAt, note).ConfigureAwait(false);
        }

        await started.ConfigureAwait(false);
        await _run.AppendAsync(id, StepEvent.Succeeded, _path, name, kind, agent, attempt, output, error: null, startedAt).ConfigureAwait(false);
        return output;
    }

    /// <summary>
    /// Journals the one terminal event of a step whose body threw: a degraded step returns its fallback (a minor
    /// failure counts as succeeded, its error noted), anything else is a failed step and throws.
    /// </summary>
    private async Task<JsonNode?> EndFailedStepAsync(Exception error, ValueTask started, string id, string name, string kind, string? agent, int attempt, long startedAt, StepNote? note)
    {
        await started.ConfigureAwait(false);

        // Parking is no failure: the step, and every step the wait is in, stays open and runs again on the resume.
        if (_run.Parked is { } parked)
        {
            throw error as Waits.RunParkedException ?? new Waits.RunParkedException(parked);
        }
        if (error is StepDegradedException degraded)
        {
            var minor = degraded.Severity == Severity.Minor;
            _run.Log.Warning("Step {StepId} degraded ({Severity}): {Error}", id, degraded.Severity, degraded.Message);

            // Minor failures are only noted: the step counts as succeeded, with the error kept beside its output.
            await _run.AppendAsync(id, minor ? StepEvent.Succeeded : StepEvent.Degraded, _path, name, kind, agent, attempt, degraded.Fallback, $"{degraded.Severity.ToString().ToLowerInvariant()}: {degraded.Message}", startedAt).ConfigureAwait(false);
            note?.Degraded = !minor;
            note?.OverBudget = degraded.OverBudget;
            return degraded.Fallback?.DeepClone();
        }

        var reason = error switch
        {
            OperationCanceledException => "cancelled",
            StepFailedException s => s.Message,
            _ => error.Message,
        };
        await _run.AppendAsync(id, StepEvent.Failed, _path, name, kind, agent, attempt, (error as AgentFailedException)?.Output, reason, startedAt).ConfigureAwait(false);
        if (error is OperationCanceledException || error is StepFailedException { StepId: var failedId } && failedId == id)
        {
            ExceptionDispatchInfo.Throw(error);
        }

        throw new StepFailedException(id, reason, error);
    }

    private async Task<JsonNode?> RunBranchesAsync(MergePolicy merge, IReadOnlyList<ParallelBranch> branches, JsonNode? context, CancellationToken ct)
    {
        using var siblings = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var pending = new List<Task<BranchOutcome>>(branches.Count);
        foreach (var branch in branches)
        {
            var copy = context?.DeepClone();

            // Task.Run so that a branch that computes before its first await does not hold up the others.
            pending.Add(Task.Run(() => RunBranchAsync(branch, copy, siblings.Token), CancellationToken.None));
        }

        // WhenEach hands the branches back as they finish in O(n); a WhenAny loop would be O(n²) over many branches.
        var outcomes = new List<BranchOutcome>(branches.Count);
        await foreach (var done in Task.WhenEach(pending).ConfigureAwait(false))
        {
            var outcome = await done.ConfigureAwait(false);
            outcomes.Add(outcome);
            if (outcome.Dropped)
            {
                continue;
            }

            if (outcome.Succeeded ? merge.StopsAtFirstSuccess : merge.StopsAtFirstFailure)
            {
                await siblings.CancelAsync().ConfigureAwait(false);
            }
        }

        ct.ThrowIfCancellationRequested();

        // Declaration order keeps merged results deterministic; first-success wants completion order.
        var byName = merge.StopsAtFirstSuccess ? null : outcomes.ToDictionary(o => o.Name, StringComparer.Ordinal);
        var ordered = byName is null ? outcomes : [.. branches.Select(b => byName[b.Name])];
        return await merge.MergeAsync(ordered).ConfigureAwait(false);
    }

    private async Task<BranchOutcome> RunBranchAsync(ParallelBranch branch, JsonNode? context, CancellationToken ct)
    {
        try
        {
            var outcome = await RunStepCoreAsync(branch.Name, "branch", null, context, (s, _, t) => RunOptionalAsync(branch, s, context, t), ct).ConfigureAwait(false);
            return new BranchOutcome(branch.Name, outcome.Output, null) { Dropped = outcome.Degraded };
        }
        catch (Exception ex)
        {
            return new BranchOutcome(branch.Name, null, ex);
        }
    }

    private static async Task<JsonNode?> RunOptionalAsync(ParallelBranch branch, WorkflowScope scope, JsonNode? context, CancellationToken ct)
    {
        try
        {
            return await branch.Body(scope, context, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (branch.Optional && ex is not OperationCanceledException)
        {
            // An optional branch that fails is dropped from the merge instead of failing the parallel step.
            throw new StepDegradedException(Severity.Moderate, "optional branch dropped: " + (ex is StepFailedException s ? s.Reason : ex.Message), null);
        }
    }

    /// <summary>The body of an agent step: the first attempt, then, if it failed, <see cref="RecoverOrFailAsync"/>.</summary>
    private async Task<JsonNode?> ExecuteAgentAsync(string kind, string stepId, JsonNode? input, StepOptions? options, CancellationToken ct)
    {
        // Every agent call (agent steps, phase items, subtasks, peers) looks for replaced plugins here, before it
        // starts, so that no call sees a plugin change under it; the journal notes each reload.
        var reloads = _run.Agents.ReloadChanged();
        if (reloads.Count > 0)
        {
            await RecordReloadsAsync(reloads).ConfigureAwait(false);
        }

        var timeout = options?.Timeout ?? _run.DefaultStepTimeout;
        var task = new AgentTask(_run.Id, stepId, input) { Attempt = _run.AttemptFor(stepId), Tools = ToolCaller };
        var first = await TryAgentAsync(kind, task, timeout, exclude: null, ct).ConfigureAwait(false);

        // The recovery chain's state lives in a method of its own, so that a step that succeeds does not carry it.
        return first.Result.Success ? first.Result.Output : await RecoverOrFailAsync(kind, stepId, task, first, timeout, options, ct).ConfigureAwait(false);
    }

    /// <summary>After a failed first attempt: the recovery chain, then the severity (critical throws, else the step degrades).</summary>
    private async Task<JsonNode?> RecoverOrFailAsync(string kind, string stepId, AgentTask task, (AgentResult Result, string ErrorType, string? ProviderId) first, TimeSpan? timeout, StepOptions? options, CancellationToken ct)
    {
        var failedOn = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (first.ProviderId is { } provider)
        {
            failedOn.Add(provider);
        }

        // No recovery makes up for a spent budget, and the budget, not the step, says how bad its refusal is.
        if (first.ErrorType == BudgetSpent)
        {
            throw first.Result.Severity == Severity.Critical
                ? new AgentFailedException(first.Result.Error!, null, Severity.Critical) { OverBudget = true }
                : new StepDegradedException(first.Result.Severity, first.Result.Error!, options?.Fallback) { OverBudget = true };
        }

        var tried = new List<string>();
        foreach (var link in (options?.Recovery ?? _run.DefaultRecovery).Links)
        {
            var recovered = await RecoverAsync(link, kind, task, first.Result, timeout, failedOn, ct).ConfigureAwait(false);
            if (recovered.Success)
            {
                _run.Log.Information("Step {StepId} recovered by {Strategy}", stepId, link.Strategy);
                return recovered.Output;
            }

            // Strategies often name themselves in their errors already ("retry: 3 attempts failed").
            tried.Add(recovered.Error!.StartsWith(link.Strategy + ":", StringComparison.Ordinal) ? recovered.Error : $"{link.Strategy}: {recovered.Error}");
        }

        var error = tried.Count == 0 ? first.Result.Error! : $"{first.Result.Error}; recovery failed: {string.Join("; ", tried)}";
        var severity = await ClassifyAsync(new StepFailure(stepId, kind, error, first.ErrorType, first.Result.Severity), options).ConfigureAwait(false);
        if (severity == Severity.Critical)
        {
            throw new AgentFailedException(error, first.Result.Output, severity);
        }

        throw new StepDegradedException(severity, error, options?.Fallback);
    }

    private async Task<Severity> ClassifyAsync(StepFailure failure, StepOptions? options)
    {
        if (options?.Severity is { } forced)
        {
            return forced;
        }

        if (_run.Classifier is { } rule && await rule(failure).ConfigureAwait(false) is { } ruled)
        {
            return ruled;
        }

        return failure.Reported;
    }

    /// <summary>Runs one link of the chain as a journaled child step, so every attempt shows in the journal and the report.</summary>
    private async Task<AgentResult> RecoverAsync(RecoveryLink link, string kind, AgentTask task, AgentResult failure, TimeSpan? timeout, HashSet<string> failedOn, CancellationToken ct)
    {
        var strategy = _run.Agents.FindStrategy(link.Strategy);
        if (strategy is null)
        {
            var known = _run.Agents.StrategyNames;
            return AgentResult.Fail($"unknown recovery strategy; known: {(known.Count == 0 ? "(none loaded)" : string.Join(", ", known.Order(StringComparer.Ordinal)))}");
        }

        try
        {
            var output = await RunStepAsync(link.Strategy, "recovery", link.Strategy, link.Options, async (scope, _, t) =>
            {
                var context = new RecoveryContext(task, kind, failure, link.Options?.DeepClone(), (k, attempt, c) => scope.RunAttemptAsync(k, attempt, timeout, exclude: null, c))
                {
                    Time = _run.Time,
                    Rollback = async c => await scope.RollbackAsync(c).ConfigureAwait(false),
                    Redistribute = (attempt, c) => scope.RedistributeAsync(kind, attempt, timeout, failedOn, c),
                };
                // On another thread, and given up on with the run: a strategy that blocks must not hold the step forever.
                var result = await Task.Run(() => strategy.TryRecoverAsync(context, t).AsTask(), CancellationToken.None).WaitAsync(t).ConfigureAwait(false);
                return result switch
                {
                    null => new JsonObject { ["recovered"] = false, ["reason"] = "not applicable" },
                    { Success: true } => new JsonObject { ["recovered"] = true, ["output"] = result.Output?.DeepClone() },
                    _ => throw new AgentFailedException(result.Error ?? "failed", result.Output, result.Severity),
                };
            }, ct).ConfigureAwait(false);
            return output?["recovered"]?.GetValue<bool>() == true
                ? AgentResult.Ok(output["output"]?.DeepClone())
                : AgentResult.Fail("not applicable");
        }
        catch (StepFailedException ex) when (!ct.IsCancellationRequested)
        {
            return AgentResult.Fail(ex.Reason);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A strategy that throws is reported like one that fails; it must not end the chain.
            return AgentResult.Fail($"{ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>What <see cref="RecoveryContext.Redistribute"/> does: the task on another healthy agent of the same kind, if there is one.</summary>
    private async ValueTask<AgentResult?> RedistributeAsync(string kind, AgentTask attempt, TimeSpan? timeout, HashSet<string> failedOn, CancellationToken ct)
    {
        var candidate = _run.Agents.FindProviders(kind)
            .Where(p => !failedOn.Contains(p.Id))
            .FirstOrDefault(p => _run.Health.StateOf(CircuitId(p, attempt)) != AgentHealthState.Unhealthy);
        if (candidate is null)
        {
            return null;
        }

        failedOn.Add(candidate.Id);
        return await RunAttemptAsync(kind, attempt, timeout, exclude: failedOn.Where(id => id != candidate.Id).ToHashSet(StringComparer.OrdinalIgnoreCase), ct, stepName: candidate.Id).ConfigureAwait(false);
    }

    /// <summary>What <see cref="RecoveryContext.RunAgent"/> does: one more attempt, journaled under the recovery step.</summary>
    private async ValueTask<AgentResult> RunAttemptAsync(string kind, AgentTask attempt, TimeSpan? timeout, IReadOnlySet<string>? exclude, CancellationToken ct, string? stepName = null)
    {
        try
        {
            var output = await RunStepAsync(stepName ?? kind, "attempt", kind, attempt.Input, async (_, _, t) =>
            {
                var (result, _, _) = await TryAgentAsync(kind, attempt, timeout, exclude, t, waitForTrial: true).ConfigureAwait(false);
                return result.Success ? result.Output : throw new AgentFailedException(result.Error ?? "failed", result.Output, result.Severity);
            }, ct).ConfigureAwait(false);
            return AgentResult.Ok(output);
        }
        catch (StepFailedException ex) when (!ct.IsCancellationRequested)
        {
            var failed = ex.InnerException as AgentFailedException;
            return AgentResult.Fail(failed?.Message ?? ex.Reason, failed?.Output, failed?.Severity ?? Severity.Critical);
        }
    }

    /// <summary>
    /// Runs an agent of the kind once, through its circuit breaker, on the first provider whose circuit is not
    /// open (and not excluded). Every failure is a result; only the run's own cancellation throws.
    /// </summary>
    /// <param name="waitForTrial">
    /// A recovery attempt that meets an open circuit on every provider waits for the break to end and makes the trial
    /// call, instead of spending its attempt in no time on a circuit that cannot answer yet.
    /// </param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(AgentResult Result, string ErrorType, string? ProviderId)> TryAgentAsync(string kind, AgentTask task, TimeSpan? timeout, IReadOnlySet<string>? exclude, CancellationToken ct, bool waitForTrial = false)
    {
        var providers = _run.Agents.FindProviders(kind);
        if (providers.Count == 0)
        {
            return (AgentResult.Fail(new UnknownAgentException(kind, _run.Agents.AgentKinds, _run.Agents.LoadErrors).Message), "unknown-agent", null);
        }

        // A run or a phase whose agents have spent its budget calls no more of them (compensations still run); how bad
        // that is is the budget's to say.
        if (!_compensating && Refusal() is { } refused)
        {
            return (AgentResult.Fail(refused.Reason, severity: refused.Severity), BudgetSpent, null);
        }

        var provider = Choose(providers, exclude, task);
        if (provider?.Calls?.TryEnter() == false)
        {
            // Retired by a hot reload since the providers were read: the new version takes the call.
            provider = Choose(_run.Agents.FindProviders(kind), exclude, task);
            provider = provider?.Calls?.TryEnter() == false ? null : provider;
        }

        if (provider is null)
        {
            return (AgentResult.Fail($"no other agent of kind '{kind}' to run on"), "unavailable", null);
        }

        // Only an attempt with a time limit needs a token of its own, to stop an agent that ran over it.
        using var attemptCts = timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            using var slot = await _run.Gates.EnterAsync(provider, ct).ConfigureAwait(false);
            var circuit = _run.Health.For(CircuitId(provider, task));
            var permit = circuit.Enter();
            // An attempt with a time limit never waits longer than the limit it would have had for the call itself.
            if (!permit.Allowed && waitForTrial && circuit.BreakRemaining is { } wait && wait > TimeSpan.Zero && (timeout is null || wait <= timeout))
            {
                _run.Log.Information("Step {StepId}: circuit {Circuit} is open; the recovery attempt waits {Wait} for its trial call", task.StepId, circuit.Id, wait);
                await Task.Delay(wait, _run.Time, ct).ConfigureAwait(false);
                permit = circuit.Enter();
            }

            if (!permit.Allowed && _compensating)
            {
                permit = AgentCircuit.Permit.Bypass;
            }

            if (!permit.Allowed)
            {
                return (AgentResult.Fail($"agent {circuit.Id} is unavailable: its circuit is open after repeated failures"), "agent", provider.Id);
            }

            AgentResult result;
            try
            {
                var token = attemptCts?.Token ?? ct;
                result = timeout is { } limit
                    ? await RunLimitedAsync(provider.Agent, task, limit, _run.Time, ct, token).ConfigureAwait(false)
                    : await provider.Agent.RunAsync(task, token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                circuit.Exit(permit, ex is OperationCanceledException ? CallOutcome.Cancelled : CallOutcome.Failed);
                throw;
            }

            // A plugin's contract violations are named at the step, not met later as a NullReferenceException.
            if (result is null)
            {
                result = AgentResult.Fail($"agent '{kind}' returned no result (null)");
            }
            else if (!result.Success && string.IsNullOrWhiteSpace(result.Error))
            {
                result = result with { Error = $"agent '{kind}' failed without saying why" };
            }

            circuit.Exit(permit, result.Success ? CallOutcome.Succeeded : CallOutcome.Failed);
            Spend(Goals.GoalTally.CostOf(result.Output));
            return (result, "agent", provider.Id);
        }
        catch (TimeoutException)
        {
            await attemptCts!.CancelAsync().ConfigureAwait(false);
            _run.Log.Warning("Step {StepId}: agent {Agent} did not return within {Timeout}; its call is abandoned", task.StepId, provider.Id, FormatTimeout(timeout!.Value));
            return (AgentResult.Fail($"agent '{kind}' timed out after {FormatTimeout(timeout!.Value)}"), "timeout", provider.Id);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // A plugin that throws is reported like one that fails; it must never take the run down unexplained.
            return (AgentResult.Fail($"agent '{kind}' threw {ex.GetType().Name}: {ex.Message}"), "exception", provider.Id);
        }
        finally
        {
            provider.Calls?.Exit();
        }
    }

    /// <summary>The error type of a call refused because a budget is spent: no recovery can make up for it.</summary>
    private const string BudgetSpent = "budget";

    /// <summary>Why an agent call here is refused: the run's budget or that of a phase it runs in is spent; null if none is.</summary>
    private (string Reason, Severity Severity)? Refusal()
    {
        if (_run.Goals.Budget is { } budget && _run.Tally.Cost > budget)
        {
            return (string.Create(CultureInfo.InvariantCulture, $"the run's budget of {budget} is spent: its agents reported {_run.Tally.Cost:0.##}"), _run.Goals.OverBudget);
        }

        foreach (var phase in _run.PhaseBudgets)
        {
            if (phase.IsSpent && phase.Covers(_path))
            {
                return (phase.Refusal(), phase.OverBudget);
            }
        }

        return null;
    }

    /// <summary>Counts what a call reported it cost against the run's budget and those of the phases it runs in.</summary>
    private void Spend(double cost)
    {
        if (cost <= 0)
        {
            return;
        }

        _run.Tally.AddCost(cost);
        foreach (var phase in _run.PhaseBudgets)
        {
            if (phase.Covers(_path))
            {
                phase.Add(cost);
            }
        }
    }

    /// <summary>The first eligible provider whose circuit is not open; with every circuit open, the first eligible (its circuit answers at once that it is unavailable).</summary>
    private AgentProvider? Choose(IReadOnlyList<AgentProvider> providers, IReadOnlySet<string>? exclude, AgentTask task)
    {
        // One agent of the kind is the choice whatever its circuit says: no need to ask it for its target twice.
        if (providers.Count == 1 && exclude is null)
        {
            return providers[0];
        }

        AgentProvider? first = null;
        for (var i = 0; i < providers.Count; i++)
        {
            var provider = providers[i];
            if (exclude?.Contains(provider.Id) == true)
            {
                continue;
            }

            if (_run.Health.StateOf(CircuitId(provider, task)) != AgentHealthState.Unhealthy)
            {
                return provider;
            }

            first ??= provider;
        }

        return first;
    }

    /// <summary>The circuit a call of <paramref name="task"/> on <paramref name="provider"/> goes through: the agent's own, or its circuit for the task's target.</summary>
    private static string CircuitId(AgentProvider provider, AgentTask task)
    {
        string? target;
        try
        {
            target = provider.Agent.TargetOf(task);
        }
        catch (Exception)
        {
            // A plugin that cannot name a target still gets its calls made, under the agent's own circuit.
            target = null;
        }

        return string.IsNullOrEmpty(target) ? provider.Id : string.Concat(provider.Id, " ", target);
    }

    /// <summary>
    /// WaitAsync enforces the limit even on an agent that ignores its token; the call starts on another thread, so that the
    /// wait begins even when the agent blocks its thread before it returns (a blocking read, a sleep): that thread is
    /// abandoned, never awaited. Only attempts with a limit pay for the hop.
    /// </summary>
    private static async ValueTask<AgentResult> RunLimitedAsync(IAgent agent, AgentTask task, TimeSpan limit, TimeProvider time, CancellationToken runToken, CancellationToken attemptToken) =>
        await Task.Run(() => agent.RunAsync(task, attemptToken).AsTask(), CancellationToken.None).WaitAsync(limit, time, runToken).ConfigureAwait(false);

    private static string FormatTimeout(TimeSpan timeout) =>
        timeout.TotalSeconds >= 1 ? $"{timeout.TotalSeconds:0.###} s" : $"{timeout.TotalMilliseconds:0} ms";

    private static JsonNode? Advance(JsonNode? context, JsonNode? output) => (context, output) switch
    {
        (_, null) => context,
        (JsonObject current, JsonObject update) => MergeShallow(current, update),
        _ => output.DeepClone(),
    };

    private static JsonObject MergeShallow(JsonObject current, JsonObject update)
    {
        foreach (var (key, value) in update)
        {
            current[key] = value?.DeepClone();
        }

        return current;
    }

    /// <summary>The id the next step named <paramref name="name"/> in this scope will get, without taking it.</summary>
    private string PeekId(string name)
    {
        var ordinals = _ordinals;
        int ordinal;
        if (ordinals is null)
        {
            ordinal = 1;
        }
        else
        {
            lock (ordinals)
            {
                ordinal = ordinals.GetValueOrDefault(name) + 1;
            }
        }

        return IdFor(name, ordinal);
    }

    private string NextId(string name)
    {
        var ordinals = _ordinals ?? Interlocked.CompareExchange(ref _ordinals, new Dictionary<string, int>(StringComparer.Ordinal), null) ?? _ordinals;
        int ordinal;
        lock (ordinals)
        {
            ordinal = ordinals.GetValueOrDefault(name) + 1;
            ordinals[name] = ordinal;
        }

        return IdFor(name, ordinal);
    }

    // One string per step: these ids are made for every step of every run.
    private string IdFor(string name, int ordinal) => (_path, ordinal) switch
    {
        (null, 1) => name,
        (null, _) => string.Create(CultureInfo.InvariantCulture, $"{name}#{ordinal}"),
        (_, 1) => string.Concat(_path, "/", name),
        _ => string.Create(CultureInfo.InvariantCulture, $"{_path}/{name}#{ordinal}"),
    };
}

/// <summary>What a step ended with, as its parent sees it; <see cref="Replayed"/> when it came from the journal of an earlier attempt.</summary>
internal readonly record struct StepOutcome(string Id, JsonNode? Output, bool Degraded, bool Replayed = false)
{
    /// <summary>The step's agent call was refused because a budget is spent (known for a step that ran now, not for a replayed one).</summary>
    public bool OverBudget { get; init; }
}

/// <summary>Filled in by a step for a caller that asks: its id and whether it degraded.</summary>
internal sealed class StepNote
{
    public string? Id { get; set; }

    public bool Degraded { get; set; }

    public bool Replayed { get; set; }

    public bool OverBudget { get; set; }
}
