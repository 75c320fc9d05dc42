using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Polly;

namespace Orchestrator.Recovery.Retry;

/// <summary>The validated options of the retry strategy. A record, so that equal options share a cached pipeline.</summary>
internal sealed record RetryOptions(int MaxAttempts, int DelayMs, int MaxDelayMs, DelayBackoffType Backoff, bool Jitter)
{
    public const int DefaultMaxAttempts = 3;
    public const int MaxMaxAttempts = 100;
    public const int DefaultDelayMs = 200;
    public const int DefaultMaxDelayMs = 30_000;

    /// <summary>One day: the longest delay Polly accepts.</summary>
    public const int MaxDelayLimitMs = 86_400_000;

    public static readonly RetryOptions Default =
        new(DefaultMaxAttempts, DefaultDelayMs, DefaultMaxDelayMs, DelayBackoffType.Exponential, Jitter: true);

    private static readonly string[] Known = ["maxAttempts", "delayMs", "maxDelayMs", "backoff", "jitter"];

    /// <summary>Reads the script's options; null means the defaults. Returns null and an error "option: problem" when they are bad.</summary>
    public static RetryOptions? Parse(JsonNode? options, out string? error)
    {
        error = null;
        if (options is null)
        {
            return Default;
        }

        if (options is not JsonObject obj)
        {
            error = $"options: must be a JSON object, got {Describe(options)}";
            return null;
        }

        foreach (var (name, _) in obj)
        {
            if (!Known.Contains(name, StringComparer.Ordinal))
            {
                error = $"{name}: unknown option (known: {string.Join(", ", Known)})";
                return null;
            }
        }

        var maxAttempts = DefaultMaxAttempts;
        var delayMs = DefaultDelayMs;
        var maxDelayMs = DefaultMaxDelayMs;
        var backoff = DelayBackoffType.Exponential;
        var jitter = true;

        if (obj["maxAttempts"] is { } attemptsNode && !TryInteger(attemptsNode, 1, MaxMaxAttempts, out maxAttempts))
        {
            error = $"maxAttempts: must be an integer from 1 to {MaxMaxAttempts}, got {Describe(attemptsNode)}";
            return null;
        }

        if (obj["delayMs"] is { } delayNode && !TryInteger(delayNode, 0, MaxDelayLimitMs, out delayMs))
        {
            error = $"delayMs: must be an integer from 0 to {MaxDelayLimitMs}, got {Describe(delayNode)}";
            return null;
        }

        if (obj["maxDelayMs"] is { } maxDelayNode)
        {
            if (!TryInteger(maxDelayNode, 0, MaxDelayLimitMs, out maxDelayMs))
            {
                error = $"maxDelayMs: must be an integer from 0 to {MaxDelayLimitMs}, got {Describe(maxDelayNode)}";
                return null;
            }
        }

        if (maxDelayMs < delayMs)
        {
            error = $"maxDelayMs: must be at least delayMs ({delayMs}), got {maxDelayMs}";
            return null;
        }

        if (obj["backoff"] is { } backoffNode)
        {
            var text = backoffNode.GetValueKind() == JsonValueKind.String ? backoffNode.GetValue<string>() : null;
            switch (text?.ToLowerInvariant())
            {
                case "exponential":
                    backoff = DelayBackoffType.Exponential;
                    break;
                case "linear":
                    backoff = DelayBackoffType.Linear;
                    break;
                case "constant":
                    backoff = DelayBackoffType.Constant;
                    break;
                default:
                    error = $"backoff: must be \"exponential\", \"linear\" or \"constant\", got {Describe(backoffNode)}";
                    return null;
            }
        }

        if (obj["jitter"] is { } jitterNode)
        {
            switch (jitterNode.GetValueKind())
            {
                case JsonValueKind.True:
                    jitter = true;
                    break;
                case JsonValueKind.False:
                    jitter = false;
                    break;
                default:
                    error = $"jitter: must be true or false, got {Describe(jitterNode)}";
                    return null;
            }
        }

        return new RetryOptions(maxAttempts, delayMs, maxDelayMs, backoff, jitter);
    }

    /// <summary>Accepts a JSON number with an integral value in range (so 3 and 3.0, not 3.5 or "3").</summary>
    private static bool TryInteger(JsonNode node, int min, int max, out int value)
    {
        value = 0;
        if (node.GetValueKind() != JsonValueKind.Number ||
            !decimal.TryParse(node.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ||
            number != decimal.Truncate(number) || number < min || number > max)
        {
            return false;
        }

        value = (int)number;
        return true;
    }

    private static string Describe(JsonNode node)
    {
        var json = node.ToJsonString();
        return json.Length <= 60 ? json : json[..57] + "...";
    }
}
