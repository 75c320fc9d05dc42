namespace Orchestrator.Core.Workflow;

/// <summary>Circuit tuning from a script: <c>ConfigureCircuits(agent: "shell", openFor: TimeSpan.FromSeconds(5))</c>.</summary>
public sealed partial class WorkflowScope
{
    /// <summary>
    /// Tunes the circuit breakers of agent kind <paramref name="agent"/> (every kind when null); what is left out keeps
    /// its value. Circuits are the engine's, not the run's: in a host the change holds for every run until changed again.
    /// </summary>
    public void ConfigureCircuits(string? agent = null, double? failureRatio = null, int? minimumThroughput = null, TimeSpan? window = null, TimeSpan? openFor = null)
    {
        if (window is { } w && w <= TimeSpan.Zero || openFor is { } o && o <= TimeSpan.Zero)
        {
            throw new ArgumentException("configureCircuits: windowMs and openForMs must be positive");
        }

        var current = _run.Health.OptionsOf(agent);
        _run.Health.Configure(agent, current with
        {
            FailureRatio = failureRatio ?? current.FailureRatio,
            MinimumThroughput = minimumThroughput ?? current.MinimumThroughput,
            SamplingDuration = window ?? current.SamplingDuration,
            BreakDuration = openFor ?? current.BreakDuration,
        });
    }
}
