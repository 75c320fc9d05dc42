using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Orchestrator.Abstractions;
using Serilog;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Provisioning;

/// <summary>
/// The message channels of a run's agent sessions: one ordered channel per agent the run provisioned, drained by
/// a loop that hands each message to <see cref="IAgent.OnMessageAsync"/>. A slow or throwing agent holds up only its own channel.
/// </summary>
internal sealed class AgentChannels(string runId, ILogger log)
{
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.OrdinalIgnoreCase);
    private readonly CancellationTokenSource _closing = new();

    /// <summary>Opens the agent's session if it has none yet.</summary>
    public void Provision(AgentProvider provider) => _sessions.GetOrAdd(provider.Id, _ => new Session(provider, log, _closing.Token));

    /// <summary>Queues a message for each agent; returns the ids of those it was queued for, in order.</summary>
    public IReadOnlyList<string> Send(IEnumerable<AgentProvider> to, string type, JsonNode? payload)
    {
        var sent = new List<string>();
        foreach (var provider in to.DistinctBy(p => p.Id, StringComparer.OrdinalIgnoreCase))
        {
            var session = _sessions.GetOrAdd(provider.Id, _ => new Session(provider, log, _closing.Token));
            if (session.Queue.Writer.TryWrite(new AgentMessage(type, runId, payload?.DeepClone())))
            {
                sent.Add(provider.Id);
            }
        }

        return sent;
    }

    /// <summary>Queues a message for every agent this run provisioned.</summary>
    public void SendToAll(string type, JsonNode? payload)
    {
        foreach (var session in _sessions.Values)
        {
            session.Queue.Writer.TryWrite(new AgentMessage(type, runId, payload?.DeepClone()));
        }
    }

    /// <summary>Ends the sessions: queued messages are still delivered, within <paramref name="grace"/>.</summary>
    public async Task CloseAsync(TimeSpan grace, TimeProvider time)
    {
        foreach (var session in _sessions.Values)
        {
            session.Queue.Writer.TryComplete();
        }

        var drained = Task.WhenAll(_sessions.Values.Select(s => s.Pump));
        if (await Task.WhenAny(drained, Task.Delay(grace, time)).ConfigureAwait(false) != drained)
        {
            await _closing.CancelAsync().ConfigureAwait(false);
        }

        _closing.Dispose();
    }

    private sealed class Session
    {
        public Session(AgentProvider provider, ILogger log, CancellationToken closing)
        {
            Pump = Task.Run(async () =>
            {
                await foreach (var message in Queue.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    try
                    {
                        await provider.Agent.OnMessageAsync(message, closing).ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        log.Warning("Agent {Agent} failed to take a {MessageType} message: {Error}", provider.Id, message.Type, ex.Message);
                    }
                }
            }, CancellationToken.None);
        }

        public Channel<AgentMessage> Queue { get; } = Channel.CreateUnbounded<AgentMessage>(new UnboundedChannelOptions { SingleReader = true });

        public Task Pump { get; }
    }
}
