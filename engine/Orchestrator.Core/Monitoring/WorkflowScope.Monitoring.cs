using System.Text.Json.Nodes;
using Orchestrator.Core.Monitoring;

namespace Orchestrator.Core.Workflow;

/// <summary>The script's hold on the run's monitor: anomaly handlers and intervals.</summary>
public sealed partial class WorkflowScope
{
    /// <summary>
    /// Subscribes to the run's anomalies. The handler gets the anomaly (<c>metric</c>, <c>agent</c>, <c>value</c>,
    /// <c>baseline</c>, <c>z</c>) and returns what it did, which is journaled with the anomaly; once a script subscribes,
    /// the default handlers (isolate the agent, halve the phases' concurrency) no longer run.
    /// </summary>
    public void OnAnomaly(Func<JsonObject, CancellationToken, Task<JsonNode?>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_run.AnomalyHandlers)
        {
            _run.AnomalyHandlers.Add(new AnomalyHandler(handler));
        }
    }

    /// <summary>Changes how often the monitor samples and the optimization loop looks, and the anomaly threshold.</summary>
    public void ConfigureMonitor(TimeSpan? interval = null, TimeSpan? optimizeEvery = null, double? threshold = null)
    {
        var monitor = _run.Monitor ?? throw new InvalidOperationException("the run has no monitor");
        var current = monitor.Options;
        monitor.Reconfigure(current with
        {
            Interval = interval ?? current.Interval,
            OptimizeInterval = optimizeEvery ?? current.OptimizeInterval,
            Threshold = threshold ?? current.Threshold,
        });
    }
}
