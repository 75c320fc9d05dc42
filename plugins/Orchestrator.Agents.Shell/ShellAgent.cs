using System.ComponentModel;
using System.Text;
using System.Text.Json.Nodes;
using CliWrap;
using Orchestrator.Abstractions;

namespace Orchestrator.Agents.Shell;

/// <summary>
/// Runs one child process, either a program with an argument array (<c>command</c> + <c>args</c>, no shell
/// quoting) or a shell script (<c>script</c>, via <c>/bin/sh -c</c> or <c>cmd /c</c>), and reports its exit
/// code and captured output. Stateless, so one instance can serve concurrent runs.
/// </summary>
public sealed class ShellAgent : IAgent
{
    // Each captured stream is capped so that a chatty process cannot exhaust the host's memory or the journal.
    internal const int MaxCapturedChars = 4 * 1024 * 1024;

    private const int MaxErrorDetailChars = 200;

    public string Kind => "shell";

    /// <summary><c>exec</c>: runs a program or a shell script.</summary>
    public IReadOnlyCollection<string> Capabilities { get; } = ["exec"];

    /// <summary>One circuit per command, and per script: a command or script that keeps failing does not cut off the others.</summary>
    public string? TargetOf(AgentTask task) => task.Input switch
    {
        JsonObject o when o["command"] is JsonValue v && v.TryGetValue<string>(out var command) => command,

        // A long script is named by its start and a hash of the whole (circuits live in one process, so the hash may too).
        JsonObject o when o["script"] is JsonValue v && v.TryGetValue<string>(out var script) =>
            script.Length <= 80 ? script : $"{script[..60]}…{(uint)script.GetHashCode():x8}",
        _ => null,
    };

    public async ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();

        ShellRequest request;
        try
        {
            request = ShellRequest.Parse(task.Input);
        }
        catch (ShellInputException ex)
        {
            return AgentResult.Fail("shell: " + ex.Message);
        }

        var stdout = new OutputCapture(MaxCapturedChars);
        var stderr = new OutputCapture(MaxCapturedChars);
        var command = BuildCommand(request, stdout, stderr);

        // The caller's token and the timeout share one source; which of them fired is told apart below.
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (request.Timeout is { } timeout)
        {
            cts.CancelAfter(timeout);
        }

        var started = TimeProvider.System.GetTimestamp();
        CommandResult result;
        try
        {
            // Forceful cancellation: CliWrap kills the whole process tree, not just the direct child.
            result = await command.ExecuteAsync(cts.Token);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            // Re-thrown on the caller's own token so that it recognises its cancellation.
            throw new OperationCanceledException($"{request.DisplayName} was cancelled; its process tree was killed.", ex, cancellationToken);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            var partial = BuildOutput(exitCode: null, stdout, stderr, started);
            partial["timedOut"] = true;
            return AgentResult.Fail($"{request.DisplayName} timed out after {request.TimeoutMs} ms", partial);
        }
        catch (Win32Exception ex)
        {
            // Raised when the program cannot be found or executed; a failed step, not a crash of the engine.
            return AgentResult.Fail($"{request.DisplayName} could not be started: {DescribeStartFailure(ex)}");
        }

        var output = BuildOutput(result.ExitCode, stdout, stderr, started);
        if (result.ExitCode == 0)
        {
            return AgentResult.Ok(output);
        }

        var detail = FirstLine(stderr.Text) ?? FirstLine(stdout.Text);
        var error = $"{request.DisplayName} exited with code {result.ExitCode}";
        return AgentResult.Fail(detail is null ? error : error + ": " + detail, output);
    }

    private static Command BuildCommand(ShellRequest request, OutputCapture stdout, OutputCapture stderr)
    {
        var command = Cli.Wrap(request.Target)
            .WithValidation(CommandResultValidation.None) // a non-zero exit is a result to report, not an exception
            .WithStandardOutputPipe(PipeTarget.Create(stdout.DrainAsync))
            .WithStandardErrorPipe(PipeTarget.Create(stderr.DrainAsync));

        command = request.RawArguments is { } raw
            ? command.WithArguments(raw)
            : command.WithArguments(request.Arguments);

        if (request.WorkingDirectory is { } cwd)
        {
            command = command.WithWorkingDirectory(cwd);
        }

        if (request.Environment.Count > 0)
        {
            command = command.WithEnvironmentVariables(request.Environment);
        }

        if (request.Stdin is { } stdin)
        {
            command = command.WithStandardInputPipe(PipeSource.FromString(stdin, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)));
        }

        return command;
    }

    private static JsonObject BuildOutput(int? exitCode, OutputCapture stdout, OutputCapture stderr, long started)
    {
        var output = new JsonObject();
        if (exitCode is { } code)
        {
            output["exitCode"] = code;
        }

        output["stdout"] = stdout.Text;
        output["stderr"] = stderr.Text;
        output["durationMs"] = Math.Round(TimeProvider.System.GetElapsedTime(started).TotalMilliseconds, 3);

        // Only present when the cap was hit, so the common case keeps the documented four fields.
        if (stdout.Truncated)
        {
            output["stdoutTruncated"] = true;
        }

        if (stderr.Truncated)
        {
            output["stderrTruncated"] = true;
        }

        return output;
    }

    private static string DescribeStartFailure(Win32Exception ex)
    {
        // CliWrap wraps the runtime's exception, whose own message repeats the command; the OS error says why.
        var innermost = ex;
        while (innermost.InnerException is Win32Exception inner)
        {
            innermost = inner;
        }

        return innermost.NativeErrorCode switch
        {
            2 => "no such program (not found on PATH, or the path does not exist)", // ENOENT / ERROR_FILE_NOT_FOUND
            13 or 5 => "permission denied (is it executable?)", // EACCES on Unix / ERROR_ACCESS_DENIED on Windows
            _ => innermost.Message,
        };
    }

    /// <summary>The first non-blank line, trimmed and shortened, to make an error message readable.</summary>
    internal static string? FirstLine(string text)
    {
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            var trimmed = line.Trim();
            if (!trimmed.IsEmpty)
            {
                return trimmed.Length <= MaxErrorDetailChars
                    ? trimmed.ToString()
                    : string.Concat(trimmed[..MaxErrorDetailChars], "…");
            }
        }

        return null;
    }
}
