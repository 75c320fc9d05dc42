using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Orchestrator.Agents.Llm;

/// <summary>Input to the llm agent was malformed or incomplete; the message names the field, never a key.</summary>
internal sealed class LlmInputException(string message) : Exception(message);

/// <summary>
/// A validated llm agent input. The endpoint, model and key come from the input, else from
/// <c>llm.json</c> beside the plugin, else from the environment; the key itself is never taken from the input,
/// since the input is journaled: the input may only name the environment variable that holds it (<c>apiKeyEnv</c>).
/// </summary>
internal sealed class LlmRequest
{
    private static readonly string[] Roles = ["system", "user", "assistant"];

    public required Uri Endpoint { get; init; }

    public required string Model { get; init; }

    /// <summary>Null for servers that need none (a local Ollama or llama.cpp server).</summary>
    public string? ApiKey { get; init; }

    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    public ChatOptions Options { get; init; } = new();

    public required TimeSpan Timeout { get; init; }

    public static LlmRequest Parse(JsonNode? input, LlmSettings settings, Func<string, string?> environment, TimeSpan defaultTimeout)
    {
        // A bare string is the prompt, so that a master's subtasks and quick calls need no wrapping.
        if (input is JsonValue text && text.TryGetValue<string>(out var prompt))
        {
            input = new JsonObject { ["prompt"] = prompt };
        }

        if (input is not JsonObject obj)
        {
            throw new LlmInputException("input must be a string (the prompt) or a JSON object with a 'prompt' or 'messages'.");
        }

        var endpointText = OptionalString(obj, "endpoint") ?? settings.Endpoint
            ?? environment("ORCHESTRATOR_LLM_ENDPOINT") ?? environment("OPENAI_BASE_URL")
            ?? throw new LlmInputException("no endpoint: give 'endpoint', or set ORCHESTRATOR_LLM_ENDPOINT (or OPENAI_BASE_URL), e.g. http://localhost:11434/v1.");
        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint) || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
        {
            throw new LlmInputException("the endpoint must be an absolute http:// or https:// URL such as http://localhost:11434/v1.");
        }

        var model = OptionalString(obj, "model") ?? settings.Model
            ?? environment("ORCHESTRATOR_LLM_MODEL") ?? environment("OPENAI_MODEL")
            ?? throw new LlmInputException("no model: give 'model', or set ORCHESTRATOR_LLM_MODEL (or OPENAI_MODEL).");

        if (obj.ContainsKey("apiKey"))
        {
            throw new LlmInputException("'apiKey' is not accepted in the input, which is journaled; name the environment variable that holds it with 'apiKeyEnv'.");
        }

        var keyVariable = OptionalString(obj, "apiKeyEnv") ?? settings.ApiKeyEnv;
        string? key;
        if (keyVariable is not null)
        {
            key = environment(keyVariable) ?? throw new LlmInputException($"the environment variable '{keyVariable}' that should hold the API key is not set.");
        }
        else
        {
            key = environment("ORCHESTRATOR_LLM_API_KEY") ?? environment("OPENAI_API_KEY");
        }

        return new LlmRequest
        {
            Endpoint = endpoint,
            Model = model,
            ApiKey = string.IsNullOrEmpty(key) ? null : key,
            Messages = ReadMessages(obj),
            Options = ReadOptions(obj),
            Timeout = ReadTimeout(obj, defaultTimeout),
        };
    }

    private static List<ChatMessage> ReadMessages(JsonObject obj)
    {
        var messages = new List<ChatMessage>();
        if (OptionalString(obj, "system") is { } system)
        {
            messages.Add(new ChatMessage(ChatRole.System, system));
        }

        if (obj.TryGetPropertyValue("messages", out var node) && node is not null)
        {
            if (node is not JsonArray list)
            {
                throw new LlmInputException("'messages' must be an array of { role, content }.");
            }

            foreach (var (item, index) in list.Select((m, i) => (m, i)))
            {
                if (item is not JsonObject message
                    || OptionalString(message, "role") is not { } role
                    || OptionalString(message, "content") is not { } content)
                {
                    throw new LlmInputException($"messages[{index}] must be an object with a string 'role' and 'content'.");
                }

                if (!Roles.Contains(role, StringComparer.Ordinal))
                {
                    throw new LlmInputException($"messages[{index}].role must be system, user or assistant.");
                }

                messages.Add(new ChatMessage(new ChatRole(role), content));
            }
        }

        if (OptionalString(obj, "prompt") is { } prompt)
        {
            messages.Add(new ChatMessage(ChatRole.User, prompt));
        }

        if (!messages.Any(m => m.Role != ChatRole.System))
        {
            throw new LlmInputException("give a 'prompt' or 'messages' with at least one user message.");
        }

        return messages;
    }

    private static ChatOptions ReadOptions(JsonObject obj)
    {
        var options = new ChatOptions();
        if (OptionalNumber(obj, "temperature") is { } temperature)
        {
            options.Temperature = (float)temperature;
        }

        if (OptionalNumber(obj, "maxTokens") is { } maxTokens)
        {
            options.MaxOutputTokens = maxTokens is >= 1 and <= int.MaxValue && maxTokens == Math.Floor(maxTokens)
                ? (int)maxTokens
                : throw new LlmInputException("'maxTokens' must be a positive whole number.");
        }

        if (OptionalString(obj, "responseFormat") is { } format)
        {
            options.ResponseFormat = format switch
            {
                "json" => ChatResponseFormat.Json,
                "text" => ChatResponseFormat.Text,
                _ => throw new LlmInputException("'responseFormat' must be \"text\" or \"json\"."),
            };
        }

        return options;
    }

    private static TimeSpan ReadTimeout(JsonObject obj, TimeSpan defaultTimeout)
    {
        if (OptionalNumber(obj, "timeoutMs") is not { } ms)
        {
            return defaultTimeout;
        }

        return ms is >= 1 and <= int.MaxValue
            ? TimeSpan.FromMilliseconds(ms)
            : throw new LlmInputException($"'timeoutMs' must be between 1 and {int.MaxValue}.");
    }

    private static string? OptionalString(JsonObject obj, string name)
    {
        if (!obj.TryGetPropertyValue(name, out var node) || node is null)
        {
            return null;
        }

        return node.GetValueKind() == JsonValueKind.String
            ? node.GetValue<string>()
            : throw new LlmInputException($"'{name}' must be a string.");
    }

    private static double? OptionalNumber(JsonObject obj, string name)
    {
        if (!obj.TryGetPropertyValue(name, out var node) || node is null)
        {
            return null;
        }

        return node.GetValueKind() == JsonValueKind.Number
            ? double.Parse(node.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture)
            : throw new LlmInputException($"'{name}' must be a number.");
    }
}
