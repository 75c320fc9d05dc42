using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using Orchestrator.Abstractions;

namespace Orchestrator.Agents.Llm;

/// <summary>
/// One chat completion from an OpenAI-compatible server (OpenAI, Ollama, llama.cpp server, vLLM...) through
/// Microsoft.Extensions.AI's <see cref="IChatClient"/>. Output: the text, the model that answered, the finish
/// reason and the token usage. As a consensus peer it speaks the engine's protocol through the model (see
/// <see cref="Deliberation"/>), and a strategy change the engine announces reaches the model in the run's later requests.
/// </summary>
public sealed class LlmAgent : IAgent
{
    internal static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(120);

    // One connection pool for every client; PooledConnectionLifetime picks up DNS changes.
    private static readonly HttpClient Http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
    {
        Timeout = System.Threading.Timeout.InfiniteTimeSpan,
    };

    private readonly ConcurrentDictionary<(Uri Endpoint, string Model, string? Key), IChatClient> _clients = new();
    private readonly Lazy<LlmSettings> _settings;
    private readonly Func<string, string?> _environment;
    private readonly RunNotes _notes = new();

    public LlmAgent()
        : this(() => LlmSettings.Load(Path.GetDirectoryName(typeof(LlmAgent).Assembly.Location)), Environment.GetEnvironmentVariable)
    {
    }

    internal LlmAgent(Func<LlmSettings> settings, Func<string, string?> environment)
    {
        _settings = new Lazy<LlmSettings>(settings);
        _environment = environment;
    }

    public string Kind => "llm";

    /// <summary><c>chat</c>, and the consensus protocol's <c>propose</c>, <c>vote</c> and <c>contribute</c>.</summary>
    public IReadOnlyCollection<string> Capabilities { get; } = ["chat", "propose", "vote", "contribute"];

    public ValueTask OnMessageAsync(AgentMessage message, CancellationToken cancellationToken)
    {
        if (message.Type == AgentMessage.StrategyChanged)
        {
            _notes.Add(message.RunId, RunNotes.StrategyChange(message.Payload));
        }
        else if (message.Type == AgentMessage.Cancellation)
        {
            _notes.Forget(message.RunId);
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var turn = Deliberation.Read(task.Input);
        LlmRequest request;
        try
        {
            request = LlmRequest.Parse(turn?.Request ?? task.Input, _settings.Value, _environment, DefaultTimeout);
        }
        catch (Exception ex) when (ex is LlmInputException or InvalidOperationException)
        {
            return AgentResult.Fail("llm: " + ex.Message);
        }

        var what = $"llm {request.Model} at {request.Endpoint.GetComponents(UriComponents.HttpRequestUrl, UriFormat.UriEscaped)}";
        var client = _clients.GetOrAdd((request.Endpoint, request.Model, request.ApiKey), key => CreateClient(key.Endpoint, key.Model, key.Key));

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(request.Timeout);
        var started = TimeProvider.System.GetTimestamp();
        try
        {
            IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages = _notes.For(task.RunId) is { } note ? [new Microsoft.Extensions.AI.ChatMessage(ChatRole.System, note), .. request.Messages] : request.Messages;
            var response = await client.GetResponseAsync(messages, request.Options, cts.Token).ConfigureAwait(false);
            return turn is null ? AgentResult.Ok(BuildOutput(response, request.Model, started)) : turn.Answer(response.Text);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException($"{what} was cancelled.", ex, cancellationToken);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return AgentResult.Fail($"{what} timed out after {request.Timeout.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms");
        }
        catch (ClientResultException ex) when (ex.Status != 0)
        {
            var output = new JsonObject { ["status"] = ex.Status };
            return AgentResult.Fail($"{what} returned {ex.Status}: {Describe(ex, request.ApiKey)}", output);
        }
        catch (Exception ex) when (ex is ClientResultException or HttpRequestException)
        {
            // Status 0: the server was never reached (refused, DNS, TLS).
            return AgentResult.Fail($"{what} is unreachable: {Describe(ex.InnerException ?? ex, request.ApiKey)}");
        }
    }

    private static IChatClient CreateClient(Uri endpoint, string model, string? key)
    {
        var options = new OpenAIClientOptions
        {
            Endpoint = endpoint,
            Transport = new HttpClientPipelineTransport(Http),

            // The engine's recovery chain decides about retries; the client must not retry behind its back.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = System.Threading.Timeout.InfiniteTimeSpan,
        };

        // Local servers need no key; an empty one would still be sent as "Bearer ". The policy overload is
        // marked experimental (OPENAI001) but is the SDK's only way to send no Authorization header.
#pragma warning disable OPENAI001
        var chat = key is null
            ? new ChatClient(model, NoAuthentication.Instance, options)
            : new ChatClient(model, new ApiKeyCredential(key), options);
#pragma warning restore OPENAI001
        return chat.AsIChatClient();
    }

    private static JsonObject BuildOutput(ChatResponse response, string requestedModel, long started)
    {
        var output = new JsonObject
        {
            ["text"] = response.Text,
            ["model"] = response.ModelId ?? requestedModel,
            ["finishReason"] = response.FinishReason?.Value,
        };

        if (response.Usage is { } usage)
        {
            output["usage"] = new JsonObject
            {
                ["inputTokens"] = usage.InputTokenCount,
                ["outputTokens"] = usage.OutputTokenCount,
                ["totalTokens"] = usage.TotalTokenCount,
            };
        }

        output["durationMs"] = Math.Round(TimeProvider.System.GetElapsedTime(started).TotalMilliseconds, 3);
        return output;
    }

    /// <summary>The server's own words, on one line; a server that echoes the key back does not get it into the journal.</summary>
    private static string Describe(Exception ex, string? key)
    {
        var text = string.Join(" ", ex.Message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return key is null ? text : text.Replace(key, "***", StringComparison.Ordinal);
    }

    /// <summary>Sends no Authorization header at all.</summary>
    private sealed class NoAuthentication : AuthenticationPolicy
    {
        public static NoAuthentication Instance { get; } = new();

        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex) =>
            ProcessNext(message, pipeline, currentIndex);

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex) =>
            ProcessNextAsync(message, pipeline, currentIndex);
    }
}
