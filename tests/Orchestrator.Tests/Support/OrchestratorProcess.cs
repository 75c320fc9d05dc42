using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Orchestrator.Tests.Support;

/// <summary>
/// A real <c>orchestrator</c> child process (<c>dotnet orchestrator.dll …</c> from the test output folder),
/// with its standard output and error captured, that a test can wait for, SIGKILL or interrupt with SIGINT.
/// </summary>
/// <remarks>
/// Unix only (signals). A test that needs this should skip itself elsewhere.
/// </remarks>
internal sealed class OrchestratorProcess : IDisposable
{
    /// <summary>How long a wait may take before the test fails instead of hanging; generous, since others may be building.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    private const int SigInt = 2;
    private const int SigTerm = 15;
    private const int SigIntMask = 1 << (SigInt - 1);

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private OrchestratorProcess(Process process, string commandLine)
    {
        _process = process;
        CommandLine = commandLine;
    }

    /// <summary>The CLI next to the test assembly: the test project references the CLI project, so the build puts it there.</summary>
    public static string DllPath { get; } = Path.Combine(AppContext.BaseDirectory, "orchestrator.dll");

    /// <summary>What was started, for messages.</summary>
    public string CommandLine { get; }

    /// <summary>The process id (the <c>dotnet</c> host runs the CLI in its own process, so signals reach it directly).</summary>
    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>
    /// The native launcher, as the tool installs it for this platform (build/NativeLauncher.targets puts it in the test
    /// output folder): it relays a run to a live host, and becomes <c>dotnet orchestrator.dll</c> for anything else.
    /// </summary>
    public static string LauncherPath { get; } = Path.Combine(AppContext.BaseDirectory, "orchestrator-launcher");

    /// <summary>Starts <c>dotnet orchestrator.dll <paramref name="args"/></c> in <paramref name="workingDirectory"/>.</summary>
    public static OrchestratorProcess Start(string workingDirectory, params string[] args) => Launch(workingDirectory, standardInput: null, args, launcher: false);

    /// <summary>Starts the native launcher with <paramref name="args"/> in <paramref name="workingDirectory"/>.</summary>
    public static OrchestratorProcess StartLauncher(string workingDirectory, params string[] args) => Launch(workingDirectory, standardInput: null, args, launcher: true);

    /// <summary>Starts it with <paramref name="standardInput"/> piped in, then closed (what <c>orchestrator … &lt; file</c> does).</summary>
    public static OrchestratorProcess StartWithInput(string workingDirectory, string standardInput, params string[] args) => Launch(workingDirectory, standardInput, args, launcher: false);

    private static OrchestratorProcess Launch(string workingDirectory, string? standardInput, string[] args, bool launcher)
    {
        var program = launcher ? LauncherPath : DllPath;
        if (!File.Exists(program))
        {
            throw new FileNotFoundException($"{Path.GetFileName(program)} is not in the test output folder; build the test project.", program);
        }

        var host = launcher ? LauncherPath
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } muxer && File.Exists(muxer) ? muxer : "dotnet";
        var info = new ProcessStartInfo
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };

        // A process started with SIGINT ignored (a background job of a non-interactive shell, some CI runners)
        // passes that on to its children, and .NET never handles a signal it finds ignored; SIGINT would then
        // do nothing. `env --default-signal` restores the default before it execs the host, in the same process.
        if (IsSigIntIgnoredHere())
        {
            info.FileName = "env";
            info.ArgumentList.Add("--default-signal=INT");
            info.ArgumentList.Add(host);
        }
        else
        {
            info.FileName = host;
        }

        if (!launcher)
        {
            info.ArgumentList.Add(DllPath);
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var started = new OrchestratorProcess(process, "orchestrator " + string.Join(' ', args));
        process.OutputDataReceived += (_, e) => Append(started._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(started._stderr, e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException("could not start " + started.CommandLine);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (standardInput is not null)
        {
            process.StandardInput.Write(standardInput);
        }

        process.StandardInput.Close();
        return started;
    }

    /// <summary>Waits for the process to exit; past <paramref name="timeout"/> (default two minutes) it is killed and the test fails.</summary>
    public async Task<CliResult> WaitForExitAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"{CommandLine} did not exit within {limit}.\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}");
        }

        // The parameterless wait also waits for the redirected streams to reach their end.
        _process.WaitForExit();
        return new CliResult(_process.ExitCode, Stdout, Stderr);
    }

    /// <summary>SIGKILL to the process and its descendants (what <c>kill -9</c> or a power cut does to the orchestrator); returns once it is gone.</summary>
    public async Task KillAsync()
    {
        Kill();
        await WaitForExitAsync();
    }

    /// <summary>
    /// SIGKILL once <paramref name="condition"/> holds and <paramref name="delay"/> more has passed; returns once the process is gone.
    /// Polls and kills from a thread of its own: with the rest of the suite keeping the thread pool busy, a pooled
    /// poll could wake only after the run had finished, and the kill would land on nothing.
    /// </summary>
    public async Task KillWhenAsync(Func<bool> condition, TimeSpan delay, string what)
    {
        var limit = DefaultTimeout;
        var met = await Task.Factory.StartNew(
            () =>
            {
                var clock = Stopwatch.StartNew();
                while (!condition())
                {
                    if (_process.HasExited || clock.Elapsed > limit)
                    {
                        return condition();
                    }

                    Thread.Sleep(5);
                }

                Thread.Sleep(delay);
                Kill();
                return true;
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        if (!met)
        {
            var exited = _process.HasExited;
            Kill();
            var result = await WaitForExitAsync();
            throw exited
                ? new InvalidOperationException($"{CommandLine} exited before {what}: {result}")
                : new TimeoutException($"{CommandLine}: still waiting for {what} after {limit}.\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}");
        }

        await WaitForExitAsync();
    }

    /// <summary>Sends SIGINT, what Ctrl+C in a terminal sends; does not wait.</summary>
    public void Interrupt()
    {
        if (kill(_process.Id, SigInt) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new Win32Exception(errno, $"kill({_process.Id}, SIGINT) failed");
        }
    }

    /// <summary>Sends SIGTERM, what a service manager sends to stop a process; does not wait.</summary>
    public void Terminate()
    {
        if (kill(_process.Id, SigTerm) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new Win32Exception(errno, $"kill({_process.Id}, SIGTERM) failed");
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails if this process exits first or the wait passes its bound.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (_process.HasExited)
            {
                // One more look: the condition may have become true just before the exit.
                if (condition())
                {
                    return;
                }

                var result = await WaitForExitAsync();
                throw new InvalidOperationException($"{CommandLine} exited before {what}: {result}");
            }

            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"{CommandLine}: still waiting for {what} after {limit}.\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}");
            }

            await Task.Delay(10);
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited in the meantime.
        }
    }

    private static void Append(StringBuilder buffer, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (buffer)
        {
            buffer.Append(line).Append('\n');
        }
    }

    /// <summary>Whether this process ignores SIGINT (bit 2 of <c>SigIgn</c> in <c>/proc/self/status</c>).</summary>
    private static bool IsSigIntIgnoredHere()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
            {
                return (ulong.Parse(line["SigIgn:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture) & SigIntMask) != 0;
            }
        }

        return false;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
