using System.Globalization;
using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace Orchestrator.Core.Workflow;

/// <summary>Master-worker coordination: a master splits a task, workers run the pieces concurrently, the master integrates.</summary>
public sealed partial class WorkflowScope
{
    // Without a split or an integration there is nothing to coordinate, so the master's own failures are never degraded.
    private static readonly StepOptions MasterOptions = new() { Severity = Severity.Critical };

    /// <summary>
    /// Runs a master-worker step <paramref name="name"/>: the master splits <paramref name="task"/> into subtasks
    /// (step <c>split</c>), workers run them at most <see cref="MasterWorkerPlan.Concurrency"/> at a time (steps
    /// <c>subtask-0</c>, <c>subtask-1</c>…, named by their place in the split so that ids do not depend on which
    /// finishes first; a worker agent's failure goes through the recovery chain and severities like any agent step),
    /// the master is told as each finishes, and integrates the results in subtask order (step <c>integrate</c>).
    /// Returns the integrated result.
    /// </summary>
    public Task<JsonNode?> MasterWorkerAsync(string name, JsonNode? task, MasterWorkerPlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.MasterAgent is { } master && string.IsNullOrWhiteSpace(master))
        {
            throw new ArgumentException($"master-worker '{name}': the master agent kind must not be empty");
        }

        if (plan.MasterAgent is null && plan.Split is null)
        {
            throw new ArgumentException($"master-worker '{name}' needs a master: an agent kind or a split function");
        }

        if ((plan.WorkerAgent is null) == (plan.Worker is null) || plan.WorkerAgent is { } worker && string.IsNullOrWhiteSpace(worker))
        {
            throw new ArgumentException($"master-worker '{name}' needs one worker: an agent kind or a function");
        }

        if (plan.Concurrency is <= 0)
        {
            throw new ArgumentException($"master-worker '{name}': concurrency must be at least 1, not {plan.Concurrency}");
        }

        if (plan.Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"master-worker '{name}': a timeout must be positive, not {timeout}");
        }

        var limit = plan.Concurrency ?? Environment.ProcessorCount;
        var input = new JsonObject
        {
            ["task"] = task?.DeepClone(),
            ["master"] = plan.MasterAgent,
            ["worker"] = plan.WorkerAgent,
            ["concurrency"] = limit,
            ["continueOnFailure"] = plan.ContinueOnFailure,
        };
        return RunStepAsync(name, "master-worker", null, input, (scope, _, ct) => scope.CoordinateAsync(task, plan, limit, ct), cancellationToken);
    }

    /// <summary>The body of a master-worker step, in its scope: split, work, integrate.</summary>
    private async Task<JsonNode?> CoordinateAsync(JsonNode? task, MasterWorkerPlan plan, int limit, CancellationToken ct)
    {
        var subtasks = await SplitAsync(task, plan, ct).ConfigureAwait(false);
        var (results, failures) = await RunSubtasksAsync(subtasks, plan, limit, ct).ConfigureAwait(false);
        var integrated = await IntegrateAsync(task, results, plan, ct).ConfigureAwait(false);
        if (failures.Count > 0)
        {
            // The script asked to go on: the master integrated what there was, and the step says what is missing.
            var listed = string.Join("; ", failures.Select(f => $"subtask {f.Key}: {f.Value}"));
            throw new StepDegradedException(Severity.Moderate, $"{failures.Count} of {subtasks.Count} subtasks failed: {listed}", integrated);
        }

        return integrated;
    }

    private async Task<IReadOnlyList<JsonNode?>> SplitAsync(JsonNode? task, MasterWorkerPlan plan, CancellationToken ct)
    {
        JsonNode? split;
        if (plan.Split is { } function)
        {
            split = await RunStepAsync("split", "split", null, task?.DeepClone(), async (scope, _, t) =>
                CheckSubtasks(await function(scope, task?.DeepClone(), t).ConfigureAwait(false)), ct).ConfigureAwait(false);
        }
        else
        {
            var master = plan.MasterAgent!;
            var input = new JsonObject { ["phase"] = "split", ["task"] = task?.DeepClone() };
            split = await RunStepAsync("split", "split", master, input, async (scope, id, t) =>
                CheckSubtasks(await scope.ExecuteAgentAsync(master, id, input, MasterOptions, t).ConfigureAwait(false)), ct).ConfigureAwait(false);
        }

        return [.. SubtasksOf(CheckSubtasks(split))!.Select(s => s?.DeepClone())];
    }

    /// <summary>Inside the split step, so that a split of the wrong shape fails the split step itself.</summary>
    private static JsonNode? CheckSubtasks(JsonNode? split) => SubtasksOf(split) is null
        ? throw new InvalidOperationException($"the split must return an array of subtasks or {{ \"subtasks\": [...] }}, not {split?.ToJsonString() ?? "null"}")
        : split;

    private static JsonArray? SubtasksOf(JsonNode? split) => split switch
    {
        JsonArray array => array,
        JsonObject o when o["subtasks"] is JsonArray array => array,
        _ => null,
    };

    /// <summary>
    /// Starts the subtasks in order, never more than <paramref name="limit"/> at once. Returns the results in subtask
    /// order and, when the plan continues on failure, the failed subtasks by index; otherwise the first failure
    /// cancels the subtasks still running and throws, naming the subtask.
    /// </summary>
    private async Task<(JsonArray Results, SortedDictionary<int, string> Failures)> RunSubtasksAsync(
        IReadOnlyList<JsonNode?> subtasks, MasterWorkerPlan plan, int limit, CancellationToken ct)
    {
        var slots = new JsonNode?[subtasks.Count];
        var failures = new SortedDictionary<int, string>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var free = new SemaphoreSlim(limit, limit);
        using var reporting = new SemaphoreSlim(1, 1);
        var done = 0;
        Exception? fatal = null;

        async Task RunOneAsync(int index)
        {
            JsonNode? output = null;
            Exception? error = null;
            try
            {
                output = (await RunSubtaskAsync(index, subtasks[index], plan, stop.Token).ConfigureAwait(false)).Output;
            }
            catch (Exception ex)
            {
                error = ex;
            }

            var reason = error switch
            {
                null => null,
                StepFailedException failed => failed.Reason,
                _ => error.Message,
            };
            var first = false;
            lock (failures)
            {
                if (error is not null && (stop.IsCancellationRequested || fatal is not null))
                {
                    // Cancelled because another subtask failed, or the run was: that failure is the one to report.
                    free.Release();
                    return;
                }

                if (error is not null && plan.ContinueOnFailure)
                {
                    failures[index] = reason!;
                    slots[index] = new JsonObject { ["error"] = reason };
                }
                else if (error is not null)
                {
                    fatal = new MasterWorkerFailedException($"subtask {index} ({SubtaskId(index)}) failed: {reason}", error);
                    first = true;
                }
                else
                {
                    slots[index] = output?.DeepClone();
                }
            }

            if (first)
            {
                // Outside the lock: cancelling runs the other subtasks' callbacks.
                await stop.CancelAsync().ConfigureAwait(false);
            }

            // One report at a time, so the master sees done counts 1, 2, 3… in the order subtasks finished.
            try
            {
                await reporting.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                free.Release();
                throw;
            }

            try
            {
                bool ended;
                lock (failures)
                {
                    ended = fatal is not null && !first;
                }

                var progress = new MasterWorkerProgress(++done, subtasks.Count, index, error is null, output?.DeepClone(), reason);

                // Once the step has failed the master hears nothing more, except about the failure itself.
                if (plan.OnProgress is { } report && !ended)
                {
                    await report(progress, ct).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                lock (failures)
                {
                    fatal ??= new MasterWorkerFailedException($"the progress callback failed on subtask {index}: {ex.Message}", ex);
                }

                await stop.CancelAsync().ConfigureAwait(false);
            }
            finally
            {
                reporting.Release();

                // Only after the report, so that a failed subtask or a failing observer stops the next start
                // rather than racing it.
                free.Release();
            }
        }

        var running = new List<Task>(subtasks.Count);
        try
        {
            for (var i = 0; i < subtasks.Count; i++)
            {
                try
                {
                    await free.WaitAsync(stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // A subtask failed: start no more.
                    break;
                }

                if (stop.IsCancellationRequested)
                {
                    free.Release();
                    ct.ThrowIfCancellationRequested();
                    break;
                }

                // Started here, so the subtasks' starts are journaled in order; their bodies yield before doing any work.
                running.Add(RunOneAsync(i));
            }
        }
        finally
        {
            // Every started subtask journals how it ended before the step does.
            await Task.WhenAll(running).ConfigureAwait(false);
        }

        ct.ThrowIfCancellationRequested();
        if (fatal is not null)
        {
            throw fatal;
        }

        return (new JsonArray(slots), failures);
    }

    private string SubtaskId(int index) => (_path is null ? "" : _path + "/") + SubtaskName(index);

    private static string SubtaskName(int index) => "subtask-" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// One subtask as a step of kind <c>subtask</c>: the worker agent through the normal agent path, or the worker function.
    /// The body yields first, so that a worker that computes before its first await does not hold up the next start.
    /// </summary>
    private Task<StepOutcome> RunSubtaskAsync(int index, JsonNode? subtask, MasterWorkerPlan plan, CancellationToken ct)
    {
        var name = SubtaskName(index);
        if (plan.WorkerAgent is { } kind)
        {
            var options = new StepOptions { Name = name, Recovery = plan.Recovery, Timeout = plan.Timeout };
            return RunStepCoreAsync(name, "subtask", kind, subtask, async (scope, id, t) =>
            {
                await Task.Yield();
                return await scope.ExecuteAgentAsync(kind, id, subtask, options, t).ConfigureAwait(false);
            }, ct);
        }

        var worker = plan.Worker!;
        return RunStepCoreAsync(name, "subtask", null, subtask, async (scope, _, t) =>
        {
            await Task.Yield();
            return await worker(scope, subtask?.DeepClone(), index, t).ConfigureAwait(false);
        }, ct);
    }

    private Task<JsonNode?> IntegrateAsync(JsonNode? task, JsonArray results, MasterWorkerPlan plan, CancellationToken ct)
    {
        if (plan.Integrate is { } function)
        {
            var input = new JsonObject { ["task"] = task?.DeepClone(), ["results"] = results.DeepClone() };
            return RunStepAsync("integrate", "integrate", null, input, (scope, _, t) => function(scope, results.DeepClone().AsArray(), task?.DeepClone(), t), ct);
        }

        if (plan.MasterAgent is { } master)
        {
            var input = new JsonObject { ["phase"] = "integrate", ["task"] = task?.DeepClone(), ["results"] = results.DeepClone() };
            return RunStepAsync("integrate", "integrate", master, input, (scope, id, t) => scope.ExecuteAgentAsync(master, id, input, MasterOptions, t), ct);
        }

        // Journaled all the same, so every master-worker step has the same shape: split, subtasks, integrate.
        var collected = new JsonObject { ["task"] = task?.DeepClone(), ["results"] = results.DeepClone() };
        return RunStepAsync("integrate", "integrate", null, collected, (_, _, _) => Task.FromResult<JsonNode?>(results), ct);
    }
}

/// <summary>A master-worker step could not finish: a subtask failed (after recovery) or the progress callback did.</summary>
internal sealed class MasterWorkerFailedException(string message, Exception inner) : Exception(message, inner);
