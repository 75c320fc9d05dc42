using System.Threading.Channels;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Runs;

/// <summary>
/// One run's events in journal order, then its end: what live progress, telemetry and the host's event endpoint all
/// read. The engine hears a step's events on the step's own thread, so concurrent steps can report out of sequence;
/// the stream holds an early event back until the ones before it have been delivered. Observers hear each event
/// synchronously; subscribers read from a channel of their own. Only the most recent events are kept (for a
/// subscriber that catches up from the journal): a run's stream never holds its whole history.
/// </summary>
internal sealed class RunEventStream(IReadOnlyList<Func<RunStart, IRunObserver?>> observerFactories)
{
    /// <summary>How many recent events a late subscriber can take from memory, past what the journal has committed.</summary>
    public const int RecentCapacity = 1024;

    private readonly Lock _gate = new();
    private readonly Dictionary<long, JournalEntry> _early = [];
    private readonly Queue<JournalEntry> _recent = new();
    private readonly List<Channel<RunEvent>> _subscribers = [];
    private IRunObserver[] _observers = [];
    private long _next = 1;
    private RunEnd? _end;

    public RunEventStream(params Func<RunStart, IRunObserver?>[] observerFactories)
        : this((IReadOnlyList<Func<RunStart, IRunObserver?>>)observerFactories)
    {
    }

    /// <summary>The run's id, once it has started.</summary>
    public string? RunId { get; private set; }

    /// <summary>The engine's <see cref="Workflow.RunOptions.OnStarted"/>: the run has its id, and its observers are made.</summary>
    public void Start(RunRecord run, long lastSeq)
    {
        var start = new RunStart(run, lastSeq);
        var observers = new List<IRunObserver>(observerFactories.Count);
        foreach (var factory in observerFactories)
        {
            if (factory(start) is { } observer)
            {
                observers.Add(observer);
            }
        }

        lock (_gate)
        {
            RunId = run.Id;
            _next = lastSeq + 1;
            _observers = [.. observers];
        }
    }

    /// <summary>The engine's <see cref="Workflow.RunOptions.OnEvent"/>: delivers the event, and any it held back, in sequence.</summary>
    public void Publish(JournalEntry entry)
    {
        lock (_gate)
        {
            if (entry.Seq != _next)
            {
                _early[entry.Seq] = entry;
                return;
            }

            Deliver(in entry);
            while (_early.Remove(_next, out var held))
            {
                Deliver(in held);
            }
        }
    }

    /// <summary>Ends the stream: its observers and subscribers hear the end last, and nothing is kept any more.</summary>
    public void Finish(RunEnd end)
    {
        lock (_gate)
        {
            if (_end is not null)
            {
                return;
            }

            // A sequence number that never arrived (an append that threw) must not keep later events from anyone.
            foreach (var held in _early.Values.OrderBy(e => e.Seq).ToList())
            {
                Deliver(in held);
            }

            _early.Clear();
            _end = end;
            foreach (var observer in _observers)
            {
                observer.OnEnd(end);
            }

            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryWrite(RunEvent.Ended(end));
                subscriber.Writer.TryComplete();
            }

            _subscribers.Clear();
            _recent.Clear();
        }
    }

    /// <summary>
    /// A reader of the events from now on, and the recent events before them (oldest first). A stream that has
    /// ended gives a reader that holds only the end.
    /// </summary>
    public Subscription Subscribe()
    {
        var channel = Channel.CreateUnbounded<RunEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        lock (_gate)
        {
            if (_end is not null)
            {
                channel.Writer.TryWrite(RunEvent.Ended(_end));
                channel.Writer.TryComplete();
                return new Subscription(this, channel, []);
            }

            _subscribers.Add(channel);
            return new Subscription(this, channel, [.. _recent]);
        }
    }

    private void Deliver(in JournalEntry entry)
    {
        _next = entry.Seq + 1;
        foreach (var observer in _observers)
        {
            observer.OnStep(in entry);
        }

        if (_recent.Count == RecentCapacity)
        {
            _recent.Dequeue();
        }

        _recent.Enqueue(entry);
        foreach (var subscriber in _subscribers)
        {
            subscriber.Writer.TryWrite(new RunEvent(entry, null));
        }
    }

    private void Unsubscribe(Channel<RunEvent> channel)
    {
        lock (_gate)
        {
            _subscribers.Remove(channel);
        }
    }

    /// <summary>One subscriber's view: the recent events when it subscribed, then everything after, ending with the run's end.</summary>
    internal sealed class Subscription(RunEventStream stream, Channel<RunEvent> channel, JournalEntry[] recent) : IDisposable
    {
        public IReadOnlyList<JournalEntry> Recent => recent;

        public ChannelReader<RunEvent> Reader => channel.Reader;

        public void Dispose() => stream.Unsubscribe(channel);
    }
}
