using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Workflow;

/// <summary>
/// The workflow DSL as the language front ends see it: every verb is a journaled step whose id is
/// derived from its name and its place in the step tree, never from .NET types, so ids stay stable
/// across engine versions and languages. A verb's body runs in a child scope, so nested steps get
/// nested ids (<c>checks/unit/shell</c>).
/// </summary>
public sealed class WorkflowScope
{
    private readonly WorkflowRun _run;
    private readonly string? _path;
    private Dictionary<string, int>? _ordinals;

    internal WorkflowScope(WorkflowRun run, string? path)
    {
        _run = run;
        _path = path;
    }

    /// <summary>The id of the run this scope belongs to.</summary>
    public string RunId => _run.Id;

    /// <summary>The id of the step this scope is the body of; null at the top of the script.</summary>
    public string? StepId => _path;

    /// <summary>The run's input (<c>--input</c>), or null.</summary>
    public JsonNode? Input => _run.Input;

    /// <summary>The agent kinds the loaded plugins provide.</summary>
    public IReadOnlyCollection<string> AgentKinds => _run.Agents.AgentKinds;

    /// <summary>Runs the agent <paramref name="kind"/> on <paramref name="input"/> as a step; throws <see cref="StepFailedException"/> if it fails.</summary>
    public Task<JsonNode?> RunAgentAsync(string kind, JsonNode? input, string? name = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        var stepName = name ?? kind;
        return RunStepAsync(stepName, "agent", kind, input, (_, id, ct) => InvokeAgentAsync(kind, id, input, ct), cancellationToken);
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

    internal async Task<JsonNode?> RunStepAsync(
        string name,
        string kind,
        string? agent,
        JsonNode? input,
        Func<WorkflowScope, string, CancellationToken, Task<JsonNode?>> body,
        CancellationToken cancellationToken)
    {
        var id = NextId(name);
        var ct = cancellationToken.CanBeCanceled ? cancellationToken : _run.Cancellation;
        var started = _run.AppendAsync(id, StepEvent.Started, _path, name, kind, agent, input, error: null);
        JsonNode? output;
        try
        {
            ct.ThrowIfCancellationRequested();
            output = await body(new WorkflowScope(_run, id), id, ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await started.ConfigureAwait(false);
            var reason = ex switch
            {
                OperationCanceledException => "cancelled",
                StepFailedException s => s.Message,
                _ => ex.Message,
            };
            await _run.AppendAsync(id, StepEvent.Failed, _path, name, kind, agent, (ex as AgentFailedException)?.Output, reason).ConfigureAwait(false);
            if (ex is OperationCanceledException || ex is StepFailedException { StepId: var failedId } && failedId == id)
            {
                throw;
            }

            throw new StepFailedException(id, reason, ex);
        }

        await started.ConfigureAwait(false);
        await _run.AppendAsync(id, StepEvent.Succeeded, _path, name, kind, agent, output, error: null).ConfigureAwait(false);
        return output;
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

        var outcomes = new List<BranchOutcome>(branches.Count);
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending).ConfigureAwait(false);
            pending.Remove(done);
            var outcome = await done.ConfigureAwait(false);
            outcomes.Add(outcome);
            if (outcome.Succeeded ? merge.StopsAtFirstSuccess : merge.StopsAtFirstFailure)
            {
                await siblings.CancelAsync().ConfigureAwait(false);
            }
        }

        ct.ThrowIfCancellationRequested();

        // Declaration order keeps merged results deterministic; first-success wants completion order.
        var ordered = merge.StopsAtFirstSuccess ? outcomes : [.. branches.Select(b => outcomes.First(o => o.Name == b.Name))];
        return await merge.MergeAsync(ordered).ConfigureAwait(false);
    }

    private async Task<BranchOutcome> RunBranchAsync(ParallelBranch branch, JsonNode? context, CancellationToken ct)
    {
        try
        {
            var output = await RunStepAsync(branch.Name, "branch", null, context, (s, _, t) => branch.Body(s, context, t), ct).ConfigureAwait(false);
            return new BranchOutcome(branch.Name, output, null);
        }
        catch (Exception ex)
        {
            return new BranchOutcome(branch.Name, null, ex);
        }
    }

    private async Task<JsonNode?> InvokeAgentAsync(string kind, string stepId, JsonNode? input, CancellationToken ct)
    {
        var agent = _run.Agents.FindAgent(kind) ?? throw new UnknownAgentException(kind, _run.Agents.AgentKinds);
        AgentResult result;
        try
        {
            result = await agent.RunAsync(new AgentTask(_run.Id, stepId, input), ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // A plugin that throws is reported like one that fails; it must never take the run down unexplained.
            throw new AgentFailedException($"agent '{kind}' threw {ex.GetType().Name}: {ex.Message}", null, Severity.Critical);
        }

        if (!result.Success)
        {
            throw new AgentFailedException(result.Error ?? $"agent '{kind}' reported failure", result.Output, result.Severity);
        }

        return result.Output;
    }

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

    private string NextId(string name)
    {
        var ordinals = _ordinals ?? Interlocked.CompareExchange(ref _ordinals, new Dictionary<string, int>(StringComparer.Ordinal), null) ?? _ordinals;
        int ordinal;
        lock (ordinals)
        {
            ordinal = ordinals.GetValueOrDefault(name) + 1;
            ordinals[name] = ordinal;
        }

        var local = ordinal == 1 ? name : name + "#" + ordinal;
        return _path is null ? local : _path + "/" + local;
    }
}
