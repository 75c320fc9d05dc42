using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace Orchestrator.Recovery.Rollback;

/// <summary>
/// The <c>rollback</c> recovery strategy: back to the last known good state. It runs the compensations of
/// the steps finished since the script's last checkpoint, newest first (the engine journals each), then
/// tries the failed step once more from that clean state.
/// </summary>
/// <remarks>
/// Options (JSON object, optional): <c>retry</c> (bool, default true): false only rolls back, leaving the
/// step failed, for a run that must stop in a consistent state.
/// </remarks>
public sealed class RollbackStrategy : IRecoveryStrategy
{
    public string Name => "rollback";

    public async ValueTask<AgentResult?> TryRecoverAsync(RecoveryContext context, CancellationToken cancellationToken)
    {
        if (context.Rollback is null)
        {
            return null;
        }

        if (!TryReadRetry(context.Options, out var retry, out var error))
        {
            return AgentResult.Fail($"rollback: {error}", context.Failure.Output, context.Failure.Severity);
        }

        var undone = await context.Rollback(cancellationToken).ConfigureAwait(false);
        var summary = $"rolled back {undone} step{(undone == 1 ? "" : "s")} to the last checkpoint";
        if (!retry)
        {
            return AgentResult.Fail($"rollback: {summary}; the step stays failed", context.Failure.Output, context.Failure.Severity);
        }

        var result = await context.RunAgent(context.AgentKind, context.Task with { Attempt = context.Task.Attempt + 1 }, cancellationToken).ConfigureAwait(false);
        return result.Success
            ? result
            : AgentResult.Fail($"rollback: {summary}; the retry failed: {result.Error}", result.Output, result.Severity);
    }

    private static bool TryReadRetry(JsonNode? options, out bool retry, out string error)
    {
        retry = true;
        error = "";
        switch (options)
        {
            case null:
                return true;
            case JsonObject bag when bag.All(p => p.Key == "retry"):
                if (bag["retry"] is null)
                {
                    return true;
                }

                if (bag["retry"] is JsonValue value && value.TryGetValue<bool>(out retry))
                {
                    return true;
                }

                error = $"retry: must be true or false, got {bag["retry"]!.ToJsonString()}";
                return false;
            case JsonObject bag:
                error = $"{bag.First(p => p.Key != "retry").Key}: unknown option (known: retry)";
                return false;
            default:
                error = $"options: must be a JSON object, got {options.ToJsonString()}";
                return false;
        }
    }
}
