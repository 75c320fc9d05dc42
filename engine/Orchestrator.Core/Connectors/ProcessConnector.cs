using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Connectors;

/// <summary>
/// A command-line system: a program, fixed leading arguments, an environment (often a credential from
/// <c>${env:…}</c>), a working folder, a timeout and health-check arguments. Each call runs the program once
/// with the request's arguments appended; a non-zero exit code fails the call with stdout and stderr kept.
/// </summary>
internal sealed class ProcessConnector : IConnector
{
    private readonly string _command;
    private readonly IReadOnlyList<string> _args;
    private readonly IReadOnlyDictionary<string, string> _env;
    private readonly string? _cwd;
    private readonly TimeSpan _timeout;
    private readonly IReadOnlyList<string> _healthArgs;
    private readonly TimeSpan _healthTimeout;
    private readonly TimeProvider _time;

    public ProcessConnector(string name, ConnectorSpec spec, string baseDirectory, TimeProvider time)
    {
        spec.AllowOnly("type", "command", "args", "env", "cwd", "timeoutMs", "health");
        var health = spec.Health();
        Name = name;
        _command = spec.RequiredString("command");
        _args = spec.Strings("args");
        _env = spec.StringMap("env");
        _cwd = spec.OptionalString("cwd") is { } cwd ? Path.GetFullPath(cwd, baseDirectory) : null;
        _timeout = spec.Milliseconds("timeoutMs", TimeSpan.FromMinutes(10));
        _healthArgs = ConnectorSpec.Strings(health, "args", spec.Where + ".health");
        _healthTimeout = ConnectorSpec.Milliseconds(health, "timeoutMs", TimeSpan.FromSeconds(10), spec.Where + ".health");
        _time = time;
    }

    public string Name { get; }

    public string Type => "process";

    public string Target => _command;

    /// <summary>Request: <c>{ args, stdin, timeoutMs }</c>; output: <c>{ exitCode, stdout, stderr }</c>.</summary>
    public async Task<JsonNode?> CallAsync(JsonNode? request, CancellationToken cancellationToken)
    {
        var spec = ConnectorSpec.From($"connector '{Name}' request", request ?? new JsonObject());
        spec.AllowOnly("args", "stdin", "timeoutMs");
        var result = await RunAsync([.. _args, .. spec.Strings("args")], spec.OptionalString("stdin"), spec.Milliseconds("timeoutMs", _timeout), cancellationToken).ConfigureAwait(false);
        var output = new JsonObject { ["exitCode"] = result.ExitCode, ["stdout"] = result.StandardOutput, ["stderr"] = result.StandardError };
        return result.ExitCode == 0
            ? output
            : throw new AgentFailedException($"{Name}: {_command} exited with code {result.ExitCode}: {result.StandardError.Trim()}", output, Abstractions.Severity.Critical);
    }

    public async Task<ConnectorHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        try
        {
            var result = await RunAsync([.. _args, .. _healthArgs], null, _healthTimeout, cancellationToken).ConfigureAwait(false);
            return new ConnectorHealth(result.ExitCode == 0, Elapsed(started), $"exit code {result.ExitCode}");
        }
        catch (Exception ex) when (ex is TimeoutException or System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new ConnectorHealth(false, Elapsed(started), ex.Message);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task<BufferedCommandResult> RunAsync(IReadOnlyList<string> args, string? stdin, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var command = Cli.Wrap(_command)
            .WithArguments(args)
            .WithEnvironmentVariables(_env.ToDictionary(p => p.Key, p => (string?)p.Value))
            .WithValidation(CommandResultValidation.None);
        if (_cwd is not null)
        {
            command = command.WithWorkingDirectory(_cwd);
        }

        if (stdin is not null)
        {
            command = command.WithStandardInputPipe(PipeSource.FromString(stdin));
        }

        try
        {
            return await command.ExecuteBufferedAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{Name}: {_command} timed out after {timeout.TotalMilliseconds} ms");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"{Name}: cannot start '{_command}': {ex.Message}", ex);
        }
    }

    private double Elapsed(long started) => Math.Round(_time.GetElapsedTime(started).TotalMilliseconds, 3);
}
