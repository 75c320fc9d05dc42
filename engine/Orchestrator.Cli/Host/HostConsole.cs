using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Cli.Commands.Run;
using Orchestrator.Cli.Progress;
using Orchestrator.Core.Runs;

namespace Orchestrator.Cli.Host;

/// <summary>
/// A run or resume for a thin client, as <c>orchestrator run</c> through a host does it: <c>script</c> (or
/// <c>runId</c> and <c>force</c>), the input as the user typed it (<c>input</c>, named <c>inputSource</c> in messages),
/// <c>--json</c>/<c>--quiet</c>, and the client's terminal when its output is one (then the live view is drawn for it).
/// </summary>
internal sealed record ConsoleRequest(string? Script, string? RunId, bool Force, string? Input, string? InputSource, bool Json, bool Quiet, ClientTerminal? Terminal);

/// <summary>
/// <c>POST /api/console/run</c> and <c>/resume</c>: the host starts the run and renders what the CLI prints for it —
/// live progress, the result lines, the exit code — into <see cref="ConsoleFrames"/>, so a client only relays text
/// (the CLI's own host path, and the native launcher that starts in a few milliseconds). A refusal to run the script
/// at all (outside the scripts folder) is a plain 403 before any frame, so that a client can run it itself instead.
/// </summary>
internal static class HostConsole
{
    public static void Map(RouteGroupBuilder api, HostState host)
    {
        api.MapPost("/console/run", (HttpContext context, ConsoleRequest request) => RunAsync(host, context, request, resume: false))
            .WithSummary("Start a run and stream what `orchestrator run` prints for it (application/vnd.orchestrator.console frames), ending with its exit code.");
        api.MapPost("/console/resume", (HttpContext context, ConsoleRequest request) => RunAsync(host, context, request, resume: true))
            .WithSummary("Resume a run and stream what `orchestrator resume` prints for it, ending with its exit code.");
    }

    private static async Task RunAsync(HostState host, HttpContext context, ConsoleRequest request, bool resume)
    {
        // The client going away stops the rendering, never the run.
        var ct = context.RequestAborted;
        var frames = new FrameSink();
        var console = new CliConsole(frames.Writer(ConsoleFrames.Out), frames.Writer(ConsoleFrames.Error));
        JsonNode? input = null;
        string? inputError = null;
        try
        {
            input = RunCommand.ParseInputText(request.Input, request.InputSource ?? "--input");
        }
        catch (CliException ex)
        {
            inputError = ex.Message;
        }

        var started = inputError is not null ? null
            : resume ? await HostApi.ResumeAsync(host, request.RunId ?? "", request.Force, ct)
            : await HostApi.SubmitAsync(host, new RunSubmission(request.Script, input), ct);
        if (started is IStatusCodeHttpResult { StatusCode: StatusCodes.Status403Forbidden })
        {
            await started.ExecuteAsync(context);
            return;
        }

        context.Response.ContentType = ConsoleFrames.ContentType;
        context.Response.Headers.CacheControl = "no-cache";
        var pump = frames.PumpAsync(context.Response.Body, ct);
        int exitCode;
        try
        {
            exitCode = inputError is not null ? Refuse(console, inputError)
                : started is IStatusCodeHttpResult { StatusCode: >= 200 and < 300 } and IValueHttpResult { Value: JsonObject body }
                    ? await FollowAsync(host, console, frames, request, body, ct)
                    : Refuse(console, (started as IValueHttpResult)?.Value is JsonObject refusal ? (string?)refusal["error"] ?? "refused" : "refused");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return;
        }

        frames.Complete(exitCode);
        try
        {
            await pump;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client went away before the last frames: the run is journaled all the same.
        }
    }

    private static int Refuse(CliConsole console, string message)
    {
        console.Error(message);
        return ExitCodes.BadInput;
    }

    private static async Task<int> FollowAsync(HostState host, CliConsole console, FrameSink frames, ConsoleRequest request, JsonObject started, CancellationToken ct)
    {
        var runId = (string)started["id"]!;
        var afterSeq = started["afterSeq"]?.GetValue<long>() ?? 0;
        frames.Add(ConsoleFrames.Run, runId);
        RunEnd? end = null;
        await using (var progress = RunProgress.For(console, request.Json, request.Quiet, request.Terminal))
        {
            await foreach (var e in RunEventReader.ReadAsync(host.Journal, runId, host.Runs.Find(runId)?.Events, afterSeq, host.Time, HostApi.DrivenElsewhere(host, runId), ct))
            {
                if (e.End is not null)
                {
                    end = e.End;
                    break;
                }

                progress?.Observe(e.Step);
            }
        }

        if (end is null)
        {
            console.Error($"run {runId} ended without its end in the journal; see 'orchestrator runs show {runId}'");
            return ExitCodes.Failed;
        }

        return RunOutput.Report(console, RunOutput.FromEnd(end), request.Json, request.Quiet);
    }

    /// <summary>
    /// Collects what the run's console writers write, from any thread, as frames, and sends them in order: the
    /// writers are synchronous (as a console is), the response is not.
    /// </summary>
    private sealed class FrameSink
    {
        private readonly Lock _gate = new();
        private readonly StringBuilder _pending = new();
        private readonly SemaphoreSlim _signal = new(0);
        private bool _completed;

        public TextWriter Writer(char kind) => new FrameWriter(this, kind);

        public void Add(char kind, string text)
        {
            if (text.Length == 0)
            {
                return;
            }

            lock (_gate)
            {
                _pending.Append(ConsoleFrames.Encode(kind, text));
            }

            _signal.Release();
        }

        public void Complete(int exitCode)
        {
            lock (_gate)
            {
                _pending.Append(ConsoleFrames.Encode(ConsoleFrames.Exit, exitCode.ToString(CultureInfo.InvariantCulture)));
                _completed = true;
            }

            _signal.Release();
        }

        public async Task PumpAsync(Stream body, CancellationToken ct)
        {
            while (true)
            {
                await _signal.WaitAsync(ct);
                string chunk;
                bool done;
                lock (_gate)
                {
                    chunk = _pending.ToString();
                    _pending.Clear();
                    done = _completed;
                }

                if (chunk.Length > 0)
                {
                    await body.WriteAsync(Encoding.UTF8.GetBytes(chunk), ct);
                    await body.FlushAsync(ct);
                }

                if (done)
                {
                    return;
                }
            }
        }
    }

    private sealed class FrameWriter(FrameSink sink, char kind) : TextWriter(CultureInfo.InvariantCulture)
    {
        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => sink.Add(kind, value.ToString());

        public override void Write(string? value) => sink.Add(kind, value ?? "");

        public override void Write(char[] buffer, int index, int count) => sink.Add(kind, new string(buffer, index, count));

        public override void Write(ReadOnlySpan<char> buffer) => sink.Add(kind, new string(buffer));
    }
}
