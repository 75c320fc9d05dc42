using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Reporting;
using Serilog;

namespace Orchestrator.Core.Workflow;

/// <summary>How a run ended, as the CLI reports it.</summary>
internal sealed record RunOutcome(RunRecord Run, int Steps, string? ReportPath, bool BadInput);

/// <summary>
/// The core loop: open a run in the journal, execute the script against the step DSL, close the run
/// with exactly one terminal status whatever happened, then render its handoff report.
/// </summary>
internal sealed class WorkflowEngine(IJournal journal, IAgentRegistry agents, IReportWriter? reports, TimeProvider time, ILogger log)
{
    public static string EngineVersion { get; } = typeof(WorkflowEngine).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public async Task<RunOutcome> RunAsync(IWorkflowProgram program, JsonNode? input, CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        var record = new RunRecord
        {
            Id = NewRunId(started),
            Script = program.ScriptPath,
            ScriptHash = program.ScriptHash,
            Language = program.Language,
            EngineVersion = EngineVersion,
            Input = input,
            StartedAt = started,
        };
        await journal.StartRunAsync(record, cancellationToken).ConfigureAwait(false);
        log.Information("Run {RunId} of {Script} started", record.Id, program.ScriptPath);

        var run = new WorkflowRun(record.Id, input, journal, agents, reports, time, cancellationToken);
        JsonNode? result = null;
        string? error = null;
        var badInput = false;
        RunStatus status;
        try
        {
            result = await program.ExecuteAsync(run.Root, cancellationToken).ConfigureAwait(false);
            status = RunStatus.Succeeded;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            status = RunStatus.Cancelled;
            error = "the run was cancelled";
        }
        catch (Exception ex)
        {
            status = RunStatus.Failed;
            error = program.DescribeFailure(ex);
            badInput = Unwrap(ex) is TemplateException;
        }

        await journal.EndRunAsync(record.Id, status, result, error, time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
        var ended = await journal.GetRunAsync(record.Id, CancellationToken.None).ConfigureAwait(false) ?? record;
        var package = await HandoffPackage.LoadAsync(journal, record.Id, CancellationToken.None).ConfigureAwait(false);
        log.Information("Run {RunId} {Status} after {Steps} steps in {DurationMs} ms", record.Id, status, package.Steps.Count, ended.DurationMs);

        string? reportPath = null;
        if (reports is not null)
        {
            try
            {
                reportPath = await reports.WriteAsync(package, CancellationToken.None).ConfigureAwait(false);
                await journal.SetReportAsync(record.Id, reportPath, CancellationToken.None).ConfigureAwait(false);
                ended = ended with { Report = reportPath };
            }
            catch (TemplateException ex)
            {
                // The run's data is safe in the journal; `orchestrator report` can render it once the template is fixed.
                log.Error("Run {RunId}: report not written: {Error}", record.Id, ex.Message);
                ended = ended with { Status = RunStatus.Failed, Error = ex.Message };
                badInput = true;
            }
        }

        return new RunOutcome(ended, package.Steps.Count, reportPath, badInput);
    }

    private static Exception Unwrap(Exception ex)
    {
        while (ex.InnerException is not null && ex is StepFailedException or AggregateException)
        {
            ex = ex.InnerException;
        }

        return ex;
    }

    private static string NewRunId(DateTimeOffset now) =>
        now.UtcDateTime.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture) + "-" +
        Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
}
