using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace Orchestrator.Recovery.Fallback;

/// <summary>
/// The <c>fallback</c> recovery strategy: runs the failed step once on another agent (or the same kind again),
/// with the original input or a replacement, as the next attempt.
/// </summary>
/// <remarks>
/// Options (JSON object): <c>agent</c> (required, a non-empty string: the agent kind to run) and <c>input</c>
/// (optional: replaces the task's input when present, even when it is null).
/// </remarks>
public sealed class FallbackStrategy : IRecoveryStrategy
{
    public string Name => "fallback";

    public async ValueTask<AgentResult?> TryRecoverAsync(RecoveryContext context, CancellationToken cancellationToken)
    {
        if (!TryParse(context.Options, out var agent, out var hasInput, out var input, out var error))
        {
            return AgentResult.Fail($"fallback: {error}", context.Failure.Output, context.Failure.Severity);
        }

        // The options' node belongs to the script's options tree: hand the agent its own copy.
        var task = context.Task with
        {
            Input = hasInput ? input?.DeepClone() : context.Task.Input,
            Attempt = context.Task.Attempt + 1,
        };

        AgentResult? result;
        try
        {
            result = await context.RunAgent(agent, task, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return AgentResult.Fail($"fallback to '{agent}' failed: {ex.GetType().Name}: {ex.Message}", severity: context.Failure.Severity);
        }

        if (result is null)
        {
            return AgentResult.Fail($"fallback to '{agent}' failed: the agent returned no result", severity: context.Failure.Severity);
        }

        return result.Success ? result : result with { Error = $"fallback to '{agent}' failed: {result.Error ?? "(no error message)"}" };
    }

    private static bool TryParse(JsonNode? options, out string agent, out bool hasInput, out JsonNode? input, out string? error)
    {
        agent = "";
        hasInput = false;
        input = null;
        error = null;
        const string Missing = "agent: required (the kind of agent to run instead)";
        if (options is null)
        {
            error = Missing;
            return false;
        }

        if (options is not JsonObject obj)
        {
            error = $"options: must be a JSON object with \"agent\", got {Describe(options)}";
            return false;
        }

        foreach (var (name, _) in obj)
        {
            if (name is not ("agent" or "input"))
            {
                error = $"{name}: unknown option (known: agent, input)";
                return false;
            }
        }

        if (!obj.TryGetPropertyValue("agent", out var agentNode) || agentNode is null)
        {
            error = Missing;
            return false;
        }

        if (agentNode.GetValueKind() != JsonValueKind.String || string.IsNullOrWhiteSpace(agentNode.GetValue<string>()))
        {
            error = $"agent: must be a non-empty string (an agent kind), got {Describe(agentNode)}";
            return false;
        }

        agent = agentNode.GetValue<string>();
        hasInput = obj.TryGetPropertyValue("input", out input);
        return true;
    }

    private static string Describe(JsonNode node)
    {
        var json = node.ToJsonString();
        return json.Length <= 60 ? json : json[..57] + "...";
    }
}
