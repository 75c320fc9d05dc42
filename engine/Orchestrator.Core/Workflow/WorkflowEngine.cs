using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Connectors;
using Orchestrator.Core.Health;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Monitoring;
using Orchestrator.Core.Provisioning;
using Orchestrator.Core.Reporting;
using Serilog;

namespace Orchestrator.Core.Workflow;

/// <summary>How a run ended, as the CLI reports it.</summary>
internal sealed record RunOutcome(RunRecord Run, int Steps, string? ReportPath, bool BadInput)
{
    /// <summary>What a waiting run waits for (the first wait it parked on); null unless the run is waiting.</summary>
    public Waits.WaitRecord? Waiting { get; init; }
}

/// <summary>Limits that apply to a whole run.</summary>
internal sealed record RunOptions
{
    public static RunOptions Default { get; } = new();

    /// <summary>The run fails (journaled as timed out) if it has not finished by then; null for no limit.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Hears every journal event of the run as it is appended (live progress); it must be quick and not throw.</summary>
    public Action<JournalEntry>? OnEvent { get; init; }

    /// <summary>Hears the run start (or restart, on resume) before its first event, with the sequence number of its last journaled event.</summary>
    public Action<RunRecord, long>? OnStarted { get; init; }

    /// <summary>The monitor's and the optimization loop's intervals and anomaly threshold.</summary>
    public MonitorOptions Monitor { get; init; } = MonitorOptions.Default;

    /// <summary>A <c>Sleep</c> with more than this left parks the run (it ends as waiting) instead of holding it; null never parks one.</summary>
    public TimeSpan? ParkLongerThan { get; init; } = DefaultParkLongerThan;

    /// <summary>One minute: a shorter sleep is cheaper to wait out than to park and resume.</summary>
    public static TimeSpan DefaultParkLongerThan { get; } = TimeSpan.FromMinutes(1);
}

/// <summary>A run cannot be resumed as asked; the message says why and what to do.</summary>
internal sealed class ResumeRefusedException(string message) : Exception(message);

/// <summary>
/// The core loop: open a run in the journal (or reopen it to resume), execute the script against the
/// step DSL — steps that finished before are replayed from the journal — close the run with exactly
/// one terminal status whatever happened, then render its handoff report.
/// </summary>
internal sealed class WorkflowEngine(IJournal journal, IAgentRegistry agents, IReportWriter? reports, TimeProvider time, ILogger log, AgentHealthBook? health = null)
{
    private readonly AgentHealthBook _health = health ?? new AgentHealthBook(time);
    private readonly AgentGates _gates = new();
    private readonly MonitorLoop _monitor = new(time);
    private ConnectorSet? _connectors;

    /// <summary>The connectors scripts reach with <c>Connector("name")</c>; by default none, with secrets resolved from the environment.</summary>
    public ConnectorSet Connectors
    {
        get => _connectors ??= ConnectorSet.Empty(new Secrets.SecretResolver(new Secrets.SecretRegistry(), new Dictionary<string, string>(), Environment.GetEnvironmentVariable), time);
        init => _connectors = value;
    }

    /// <summary>The host's MCP servers, shared by its runs; null when none are configured.</summary>
    public Mcp.McpCoordinator? Mcp { get; init; }

    /// <summary>The one monitor and optimization loop of every run this engine drives.</summary>
    public MonitorLoop Monitor => _monitor;

    /// <summary>How long a cancelled run waits for its script to wind down before it ends anyway.</summary>
    public static TimeSpan CancellationGrace { get; } = TimeSpan.FromSeconds(2);

    public static string EngineVersion { get; } = typeof(WorkflowEngine).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public async Task<RunOutcome> RunAsync(IWorkflowProgram program, JsonNode? input, CancellationToken cancellationToken, RunOptions? options = null)
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
        return await ExecuteAsync(program, record, history: null, options ?? RunOptions.Default, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="runId"/>'s script again: steps the journal records as finished return their
    /// outputs without running, and the run goes on from the first unfinished step. A script that changed
    /// since the run started is refused unless <paramref name="force"/>.
    /// </summary>
    public async Task<RunOutcome> ResumeAsync(IWorkflowProgram program, string runId, bool force, CancellationToken cancellationToken, RunOptions? options = null)
    {
        var record = await journal.GetRunAsync(runId, cancellationToken).ConfigureAwait(false)
            ?? throw new ResumeRefusedException($"no run with id '{runId}'");
        if (record.Status == RunStatus.Succeeded)
        {
            throw new ResumeRefusedException($"run {runId} already succeeded; there is nothing to resume");
        }

        if (!force && !string.Equals(record.ScriptHash, program.ScriptHash, StringComparison.Ordinal))
        {
            throw new ResumeRefusedException(
                $"{program.ScriptPath} changed since run {runId} started (sha256 {Short(record.ScriptHash)} then, {Short(program.ScriptHash)} now); " +
                "replaying a different script could misplace journaled results. Use --force to resume anyway.");
        }

        // The journal is read once for what finished and where its outputs are; each output is read when its step is replayed.
        var history = await ReplayIndex.LoadAsync(journal, runId, cancellationToken).ConfigureAwait(false);
        await journal.ReopenRunAsync(runId, cancellationToken).ConfigureAwait(false);
        log.Information("Run {RunId} resumed with {Steps} journaled steps", runId, history.Steps);
        return await ExecuteAsync(program, record, history, options ?? RunOptions.Default, cancellationToken).ConfigureAwait(false);
    }

    private async Task<RunOutcome> ExecuteAsync(IWorkflowProgram program, RunRecord record, ReplayIndex? history, RunOptions options, CancellationToken cancellationToken)
    {
        using var deadline = options.Timeout is { } limit ? new CancellationTokenSource(limit, time) : new CancellationTokenSource();
        using var runCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var run = new WorkflowRun(record.Id, record.Input, journal, agents, reports, time, log, runCts.Token, history) { Health = _health, Gates = _gates, Connectors = Connectors, Mcp = Mcp, OnEvent = options.OnEvent, ParkLongerThan = options.ParkLongerThan };
        options.OnStarted?.Invoke(record, history?.LastSeq ?? 0);
        JsonNode? result = null;
        string? error = null;
        var badInput = false;
        RunStatus status;
        var monitor = run.Monitor = RunMonitor.Start(run, options.Monitor, _monitor);
        // Started on a pool thread: a script whose first call blocks (an agent that blocks its thread before returning)
        // would otherwise never hand back its task, and neither the run's timeout nor Ctrl+C could end the run.
        var execution = Task.Run(() => program.ExecuteAsync(run.Root, runCts.Token), CancellationToken.None);
        try
        {
            // A script that ignores cancellation must not keep a cancelled run from ending: stop waiting for it.
            result = await execution.WaitAsync(runCts.Token).ConfigureAwait(false);

            // The end of the run (Validation/): the result's validators and the quality checks, as journaled steps.
            result = await run.Root.FinishRunAsync(result, runCts.Token).ConfigureAwait(false);
            status = RunStatus.Succeeded;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            status = RunStatus.Failed;
            error = $"the run timed out after {options.Timeout}";
        }
        catch (OperationCanceledException) when (runCts.IsCancellationRequested)
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

        // A wait with nothing to return parked the run, whatever the script made of it: it ends waiting, not failed.
        if (run.Parked is { } parked)
        {
            status = RunStatus.Waiting;
            result = null;
            error = "waiting for " + Waits.WaitKinds.Describe(parked);
            badInput = false;
        }

        if (!execution.IsCompleted)
        {
            // A short grace lets steps that do honour the token journal their cancellation before the run ends.
            await Task.WhenAny(execution, Task.Delay(CancellationGrace, time)).ConfigureAwait(false);
        }

        if (status is RunStatus.Succeeded or RunStatus.Failed)
        {
            await run.Root.CheckGoalsAsync().ConfigureAwait(false);
        }

        await monitor.DisposeAsync().ConfigureAwait(false);
        if (status == RunStatus.Cancelled)
        {
            run.Channels.SendToAll(AgentMessage.Cancellation, new JsonObject { ["reason"] = error });
        }

        await run.Channels.CloseAsync(CancellationGrace, time).ConfigureAwait(false);
        await journal.EndRunAsync(record.Id, status, result, error, time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
        var ended = await journal.GetRunAsync(record.Id, CancellationToken.None).ConfigureAwait(false) ?? record;
        log.Information("Run {RunId} {Status} after {Steps} steps in {DurationMs} ms", record.Id, status, run.StepCount, ended.DurationMs);

        string? reportPath = null;
        if (reports is not null)
        {
            try
            {
                var package = await HandoffPackage.LoadAsync(journal, record.Id, CancellationToken.None).ConfigureAwait(false);
                reportPath = await reports.WriteAsync(package, CancellationToken.None).ConfigureAwait(false);
                await journal.SetReportAsync(record.Id, reportPath, null, CancellationToken.None).ConfigureAwait(false);
                ended = ended with { Report = reportPath };
            }
            catch (TemplateException ex)
            {
                // The run's outcome is the script's: the data is safe in the journal, and `orchestrator report` renders it
                // once the template is fixed. The failure is recorded with the run, so every view of it says the same.
                log.Warning("Run {RunId}: report not written: {Error}", record.Id, ex.Message);
                await journal.SetReportAsync(record.Id, null, ex.Message, CancellationToken.None).ConfigureAwait(false);
                ended = ended with { Report = null, ReportError = ex.Message };
            }
        }

        return new RunOutcome(ended, run.StepCount, reportPath, badInput) { Waiting = run.Parked };
    }

    private static string Short(string hash) => hash[..Math.Min(12, hash.Length)];

    private static Exception Unwrap(Exception ex)
    {
        while (ex.InnerException is not null && ex is StepFailedException or AggregateException)
        {
            ex = ex.InnerException;
        }

        return ex;
    }

    internal static string NewRunId(DateTimeOffset now) =>
        now.UtcDateTime.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture) + "-" +
        Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
}
