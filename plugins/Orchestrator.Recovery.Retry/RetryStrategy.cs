using System.Collections.Concurrent;
using Orchestrator.Abstractions;
using Polly;
using Polly.Retry;

namespace Orchestrator.Recovery.Retry;

/// <summary>
/// The <c>retry</c> recovery strategy: runs the failed task again on the same agent, up to <c>maxAttempts</c> times,
/// waiting before each run (the first included, since the original attempt has just failed) with exponential, linear
/// or constant backoff, optional jitter, and a cap. Built on a Polly.Core retry pipeline whose clock is the engine's
/// (<see cref="RecoveryContext.Time"/>), so every wait can be moved by a test's fake clock.
/// </summary>
/// <remarks>
/// Options (JSON, all optional): <c>maxAttempts</c> (1..100, default 3), <c>delayMs</c> (0..86400000, default 200),
/// <c>maxDelayMs</c> (delayMs..86400000, default 30000), <c>backoff</c> (<c>"exponential"</c> default, <c>"linear"</c>,
/// <c>"constant"</c>), <c>jitter</c> (default true). A null value means the default.
/// </remarks>
public sealed class RetryStrategy : IRecoveryStrategy
{
    /// <summary>Beyond this many distinct (clock, options) pairs, pipelines are built per call instead of cached.</summary>
    private const int MaxCachedPipelines = 256;

    private readonly ConcurrentDictionary<(TimeProvider Time, RetryOptions Options), ResiliencePipeline<AgentResult>> _pipelines = new();

    public string Name => "retry";

    public async ValueTask<AgentResult?> TryRecoverAsync(RecoveryContext context, CancellationToken cancellationToken)
    {
        if (context.Failure.Success)
        {
            // Nothing failed: there is nothing to retry.
            return null;
        }

        var options = RetryOptions.Parse(context.Options, out var error);
        if (options is null)
        {
            return AgentResult.Fail($"retry: {error}", context.Failure.Output, context.Failure.Severity);
        }

        var pipeline = GetPipeline(context.Time, options);
        var execution = new Execution(context);
        AgentResult? result;
        try
        {
            result = await pipeline.ExecuteAsync(RunOnceAsync, execution, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // RunAgent reports an agent's failure as a result; an exception here is a fault of the engine or the agent host.
            return AgentResult.Fail($"retry: {Attempts(execution.Runs)} failed; last: {ex.GetType().Name}: {ex.Message}", severity: context.Failure.Severity);
        }

        if (result is { Success: true })
        {
            return result;
        }

        // Polly hands back the last failure when it is cancelled between attempts; a cancelled recovery throws.
        cancellationToken.ThrowIfCancellationRequested();
        if (result is null)
        {
            // A broken RunAgent; the contract promises a result.
            return AgentResult.Fail($"retry: {Attempts(execution.Runs)} failed; last: the agent returned no result", severity: context.Failure.Severity);
        }

        return result with { Error = $"retry: {Attempts(execution.Runs)} failed; last: {result.Error ?? "(no error message)"}" };
    }

    private static string Attempts(int count) => count == 1 ? "1 attempt" : $"{count} attempts";

    /// <summary>
    /// One execution of the pipeline. The first returns the original failure without running anything, so that Polly
    /// waits its first delay before the first real retry; each later one runs the next attempt.
    /// </summary>
    private static async ValueTask<AgentResult> RunOnceAsync(Execution execution, CancellationToken cancellationToken)
    {
        var context = execution.Context;
        if (!execution.Started)
        {
            execution.Started = true;
            return context.Failure;
        }

        execution.Runs++;
        var task = context.Task with { Attempt = context.Task.Attempt + execution.Runs };
        return await context.RunAgent(context.AgentKind, task, cancellationToken).ConfigureAwait(false);
    }

    private ResiliencePipeline<AgentResult> GetPipeline(TimeProvider time, RetryOptions options)
    {
        var key = (time, options);
        if (_pipelines.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var pipeline = Build(time, options);
        return _pipelines.Count < MaxCachedPipelines ? _pipelines.GetOrAdd(key, pipeline) : pipeline;
    }

    private static ResiliencePipeline<AgentResult> Build(TimeProvider time, RetryOptions options) =>
        new ResiliencePipelineBuilder<AgentResult> { Name = "retry", TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<AgentResult>
            {
                // Executions = 1 + retries: the first replays the original failure, each retry is one real attempt.
                MaxRetryAttempts = options.MaxAttempts,
                Delay = TimeSpan.FromMilliseconds(options.DelayMs),
                MaxDelay = TimeSpan.FromMilliseconds(options.MaxDelayMs),
                BackoffType = options.Backoff,
                UseJitter = options.Jitter,
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: OperationCanceledException } => false,
                    { Exception: not null } => true,
                    { Result: null or { Success: false } } => true,
                    _ => false,
                }),
            })
            .Build();

    /// <summary>The state of one recovery: attempts run one after another, so plain fields suffice.</summary>
    private sealed class Execution(RecoveryContext context)
    {
        public RecoveryContext Context { get; } = context;

        public bool Started { get; set; }

        /// <summary>How many real attempts have run.</summary>
        public int Runs { get; set; }
    }
}
