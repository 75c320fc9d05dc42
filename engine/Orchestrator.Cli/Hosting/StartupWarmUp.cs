using System.Collections.Concurrent;
using Serilog;

namespace Orchestrator.Cli.Hosting;

/// <summary>
/// What a process that ends with its run warms up before the run needs it, one item after another in the order they
/// are given, on a thread of its own: the pool's few threads (one per core) are the run's from its first step. Nothing
/// here is needed for a correct run; an item that fails costs only the time it would have saved.
/// </summary>
internal sealed class StartupWarmUp
{
    private readonly BlockingCollection<Action> _work = [];
    private readonly ILogger _log;

    private StartupWarmUp(ILogger log)
    {
        _log = log;
    }

    public static StartupWarmUp Start(ILogger log)
    {
        var warmUp = new StartupWarmUp(log);
        new Thread(warmUp.Run) { IsBackground = true, Name = "startup warm-up" }.Start();
        return warmUp;
    }

    /// <summary>Queues <paramref name="work"/> after what is queued already.</summary>
    public void Then(Action work) => _work.Add(work);

    /// <summary>Nothing more will be queued: the thread ends once the queue is done.</summary>
    public void Finish() => _work.CompleteAdding();

    private void Run()
    {
        foreach (var work in _work.GetConsumingEnumerable())
        {
            try
            {
                work();
            }
            catch (Exception ex)
            {
                // An exception on a thread of our own would end the process: this one only costs the run some time.
                _log.Debug(ex, "A start-up warm-up failed");
            }
        }
    }
}
