using Orchestrator.Cli.Progress;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Runs;
using Orchestrator.Core.Telemetry;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Cli.Commands.Run;

/// <summary>
/// Who hears a <c>run</c> or <c>resume</c> as it goes: the live progress, and, when an exporter listens, telemetry,
/// both from one ordered event stream. Without a listener the progress hears the engine directly, as it always did.
/// </summary>
internal sealed class RunObservation
{
    private readonly RunEventStream? _stream;

    private RunObservation(RunOptions options, RunEventStream? stream)
    {
        Options = options;
        _stream = stream;
    }

    public RunOptions Options { get; }

    public static RunObservation Create(RunProgress? progress, TimeSpan? timeout, CircuitWatch? circuits)
    {
        if (!OrchestratorTelemetry.IsObserved)
        {
            return new RunObservation(new RunOptions { Timeout = timeout, OnEvent = progress is null ? null : progress.Observe }, null);
        }

        var stream = new RunEventStream(RunTelemetry.Factory(circuits), _ => progress is null ? null : new ProgressObserver(progress));
        return new RunObservation(new RunOptions { Timeout = timeout, OnEvent = stream.Publish, OnStarted = stream.Start }, stream);
    }

    /// <summary>Runs <paramref name="execute"/> with <see cref="Options"/> and ends the stream, also when it throws, so the run's span always ends.</summary>
    public async Task<RunOutcome> RunAsync(Func<RunOptions, Task<RunOutcome>> execute)
    {
        try
        {
            var outcome = await execute(Options);
            _stream?.Finish(RunEnd.From(outcome));
            return outcome;
        }
        catch (Exception ex) when (_stream?.RunId is { } runId)
        {
            _stream.Finish(new RunEnd(runId, RunStatus.Failed, ex.Message, null, 0, null, null, null));
            throw;
        }
    }

    private sealed class ProgressObserver(RunProgress progress) : IRunObserver
    {
        public void OnStep(in JournalEntry entry) => progress.Observe(entry);

        public void OnEnd(RunEnd end)
        {
        }
    }
}
