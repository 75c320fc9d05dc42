using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Cli.Commands.Waits;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Runs;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Cli.Commands.Run;

/// <summary>How <c>run</c> and <c>resume</c> report an outcome, and the exit code it maps to.</summary>
internal static class RunOutput
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The outcome as <c>--json</c> prints it (and <c>mcp serve</c> returns it).</summary>
    public static JsonObject ToJson(RunOutcome outcome) => new()
    {
        ["runId"] = outcome.Run.Id,
        ["status"] = outcome.Run.Status.ToString().ToLowerInvariant(),
        ["steps"] = outcome.Steps,
        ["durationMs"] = Math.Round(outcome.Run.DurationMs ?? 0, 3),
        ["report"] = outcome.ReportPath,
        ["reportError"] = outcome.Run.ReportError,
        ["result"] = outcome.Run.Result?.DeepClone(),
        ["error"] = outcome.Run.Error,
        ["waiting"] = outcome.Waiting is { } wait ? WaitHints.ToJson(wait) : null,
    };

    /// <summary>A run's end as its outcome, for a run followed through its events rather than driven here.</summary>
    public static RunOutcome FromEnd(RunEnd end)
    {
        var run = new RunRecord
        {
            Id = end.RunId,
            Script = "",
            ScriptHash = "",
            Language = "",
            EngineVersion = WorkflowEngine.EngineVersion,
            Status = end.Status,
            Result = end.Result?.DeepClone(),
            Error = end.Error,
            StartedAt = DateTimeOffset.UnixEpoch,
            EndedAt = DateTimeOffset.UnixEpoch + TimeSpan.FromMilliseconds(end.DurationMs ?? 0),
        };
        return new RunOutcome(run, end.Steps, end.Report, BadInput: false);
    }

    public static int Report(CliConsole console, RunOutcome outcome, bool json, bool quiet = false, bool resumable = true)
    {
        var run = outcome.Run;
        var status = run.Status.ToString().ToLowerInvariant();
        if (run.Status is not (RunStatus.Succeeded or RunStatus.Waiting))
        {
            console.Error($"run {run.Id} {status}: {run.Error}");
        }

        // The run's outcome stands; a report that could not be rendered is only a warning (and recorded with the run).
        if (run.ReportError is not null)
        {
            console.Error($"warning: report not written: {run.ReportError}");
        }

        if (json)
        {
            console.Line(ToJson(outcome).ToJsonString());
        }
        else if (quiet)
        {
            if (run.Result is not null)
            {
                console.Line(run.Result.ToJsonString(Indented));
            }
        }
        else
        {
            console.Line($"run {run.Id} {status}: {outcome.Steps} steps in {run.DurationMs ?? 0:0} ms");
            if (run.Result is not null)
            {
                console.Line("result: " + run.Result.ToJsonString(Indented));
            }

            if (outcome.ReportPath is not null)
            {
                console.Line("report: " + outcome.ReportPath);
            }

            if (resumable && run.Status is RunStatus.Cancelled or RunStatus.Failed)
            {
                console.Line($"resume with: orchestrator resume {run.Id}");
            }

            if (outcome.Waiting is { } wait)
            {
                foreach (var line in WaitHints.Lines(wait))
                {
                    console.Line(line);
                }
            }
            else if (run.Status == RunStatus.Waiting)
            {
                // A run parked in a host: the host continues it once a decision or an event arrives.
                console.Line($"{run.Error}; the host continues it once that comes ('orchestrator review' lists the approvals)");
            }
        }

        return outcome switch
        {
            { BadInput: true } => ExitCodes.BadInput,
            { Run.Status: RunStatus.Succeeded } => ExitCodes.Success,
            { Run.Status: RunStatus.Waiting } => ExitCodes.Waiting,
            _ => ExitCodes.Failed,
        };
    }
}
