using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Orchestrator.Cli.Commands.Run;

namespace Orchestrator.Launcher;

/// <summary>
/// <c>orchestrator</c> as installed: a native program that starts in a few milliseconds. A plain <c>run</c> or
/// <c>resume</c> that a live host can take goes to the host, which runs it and renders what the CLI prints for it
/// (live progress, result, exit code); this process only relays that text and, on Ctrl+C, asks the host to cancel.
/// Everything else (every other verb, any option it does not know, no live host, a host that refuses) belongs to the
/// managed CLI, which this process becomes with the same arguments: the launcher never decides what a command means.
/// </summary>
internal static partial class Launcher
{
    private static int Main(string[] args)
    {
        var command = HostedCommand.Parse(args);
        if (command?.FindHost() is { } host && Relay(command, host) is { } exitCode)
        {
            return exitCode;
        }

        return ManagedCli.Become(args);
    }

    /// <summary>Sends the command to the host and relays what it renders; null when the host did not take it.</summary>
    private static int? Relay(HostedCommand command, HostHttp host)
    {
        if (command.Body() is not { } body)
        {
            return null;
        }

        HostResponse response;
        try
        {
            response = host.Send("POST", command.Path, body);
        }
        catch (HostUnreachableException)
        {
            return null;
        }

        using (response)
        {
            if (!response.IsSuccess)
            {
                return null;
            }

            string? runId = null;
            var cancelled = 0;
            void Cancel(PosixSignalContext context)
            {
                context.Cancel = true;
                if (runId is { } id && Interlocked.Exchange(ref cancelled, 1) == 0)
                {
                    try
                    {
                        using var _ = host.Send("POST", $"/api/runs/{Uri.EscapeDataString(id)}/cancel");
                    }
                    catch (HostUnreachableException)
                    {
                        // The output breaks off too, and says so.
                    }
                }
            }

            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
            var stdout = Console.Out;
            var stderr = Console.Error;
            while (Read(response.Body) is { } frame)
            {
                switch (frame.Kind)
                {
                    case ConsoleFrames.Out:
                        stdout.Write(frame.Text);
                        break;
                    case ConsoleFrames.Error:
                        stderr.Write(frame.Text);
                        break;
                    case ConsoleFrames.Run:
                        runId = frame.Text;
                        break;
                    case ConsoleFrames.Exit:
                        stdout.Flush();
                        return int.Parse(frame.Text, System.Globalization.CultureInfo.InvariantCulture);
                }
            }

            stdout.Flush();
            stderr.WriteLine("orchestrator: " + ConsoleFrames.BrokenOff(host.BaseAddress, runId));
            return 1;
        }
    }

    private static (char Kind, string Text)? Read(StreamReader reader)
    {
        try
        {
            return ConsoleFrames.Read(reader);
        }
        catch (IOException)
        {
            return null;
        }
    }
}

/// <summary>
/// A <c>run</c> or <c>resume</c> in the plain form a host can take for it: one script or run id and only the options
/// below. Anything else is left to the managed CLI, whose parser is the one that says what a command line means.
/// </summary>
internal sealed class HostedCommand
{
    private const string DefaultStore = ".orchestrator";

    private string? _target;
    private string _store = DefaultStore;
    private string? _host;
    private string? _input;
    private bool _json;
    private bool _quiet;
    private bool _force;

    private HostedCommand(bool resume) => Resume = resume;

    public bool Resume { get; }

    public string Path => Resume ? "/api/console/resume" : "/api/console/run";

    public static HostedCommand? Parse(string[] args)
    {
        if (args.Length < 2 || args[0] is not ("run" or "resume"))
        {
            return null;
        }

        var command = new HostedCommand(args[0] == "resume");
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--json":
                    command._json = true;
                    break;
                case "--quiet" or "-q":
                    command._quiet = true;
                    break;
                case "--force" when command.Resume:
                    command._force = true;
                    break;
                case "--store" when value is not null:
                    command._store = value;
                    i++;
                    break;
                case "--host" when value is not null:
                    command._host = value;
                    i++;
                    break;
                case "--input" when value is not null && !command.Resume && !value.StartsWith('@'):
                    command._input = value;
                    i++;
                    break;
                case var other when other.StartsWith('-') || command._target is not null:
                    return null;
                default:
                    command._target = args[i];
                    break;
            }
        }

        return command._target is null ? null : command;
    }

    /// <summary>
    /// The host the managed CLI would submit to: <c>--host</c>, else <c>ORCHESTRATOR_HOST</c>, else the live host in the
    /// store's <c>host.json</c>; null when there is none (or it is a PostgreSQL store, whose local folder the CLI works out).
    /// </summary>
    public HostHttp? FindHost()
    {
        var url = _host ?? Environment.GetEnvironmentVariable("ORCHESTRATOR_HOST");
        var token = Environment.GetEnvironmentVariable("ORCHESTRATOR_TOKEN");
        if (url is null)
        {
            if (_store.Contains("://", StringComparison.Ordinal) || _store.Contains('=', StringComparison.Ordinal)
                || HostFile.Read(System.IO.Path.Combine(System.IO.Path.GetFullPath(_store), "host.json")) is not { } file
                || !Processes.IsAlive(file.Pid))
            {
                return null;
            }

            url = file.Url;
            token ??= file.Token;
        }

        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? new HostHttp(uri, token)
            : null;
    }

    /// <summary>The request's JSON; null when the script is not there (the managed CLI says so).</summary>
    public string? Body()
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (Resume)
            {
                json.WriteString("runId", _target);
                json.WriteBoolean("force", _force);
            }
            else
            {
                var script = System.IO.Path.GetFullPath(_target!);
                if (!File.Exists(script))
                {
                    return null;
                }

                json.WriteString("script", script);
                json.WriteString("input", _input);
                json.WriteString("inputSource", "--input");
            }

            json.WriteBoolean("json", _json);
            json.WriteBoolean("quiet", _quiet);
            if (!Console.IsOutputRedirected)
            {
                json.WriteStartObject("terminal");
                json.WriteNumber("width", Width());
                json.WriteString("term", Environment.GetEnvironmentVariable("TERM"));
                json.WriteString("colorTerm", Environment.GetEnvironmentVariable("COLORTERM"));
                json.WriteBoolean("noColor", Environment.GetEnvironmentVariable("NO_COLOR") is not null);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static int Width()
    {
        // A terminal that does not say its size (0) is drawn 80 wide, as Spectre draws one in-process.
        try
        {
            return Console.WindowWidth is > 0 and var width ? width : 80;
        }
        catch (IOException)
        {
            return 80;
        }
    }

    /// <summary>The store's <c>host.json</c> (url, token, pid), read without reflection.</summary>
    private sealed record HostFile(string Url, string? Token, int Pid)
    {
        public static HostFile? Read(string path)
        {
            try
            {
                using var document = JsonDocument.Parse(File.ReadAllBytes(path));
                var root = document.RootElement;
                return root.TryGetProperty("url", out var url) && url.ValueKind == JsonValueKind.String
                    && root.TryGetProperty("pid", out var pid) && pid.TryGetInt32(out var id)
                    ? new HostFile(url.GetString()!, root.TryGetProperty("token", out var token) && token.ValueKind == JsonValueKind.String ? token.GetString() : null, id)
                    : null;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
            {
                return null;
            }
        }
    }
}

/// <summary>Becoming the managed CLI: <c>dotnet orchestrator.dll ARGS</c> from beside this program, in this process where the system allows.</summary>
internal static partial class ManagedCli
{
    public static int Become(string[] args)
    {
        var cli = System.IO.Path.Combine(AppContext.BaseDirectory, "orchestrator.dll");
        if (!File.Exists(cli))
        {
            Console.Error.WriteLine($"orchestrator: the managed CLI is not beside the launcher: {cli}");
            return 1;
        }

        if (Muxer() is not { } dotnet)
        {
            Console.Error.WriteLine("orchestrator: cannot find the dotnet host (dotnet on PATH, or DOTNET_ROOT)");
            return 1;
        }

        string[] argv = [dotnet, cli, .. args];
        if (!OperatingSystem.IsWindows())
        {
            Console.Out.Flush();
            Exec(dotnet, argv);
        }

        // Windows, or exec failed: a child with this console, and its exit code.
        var start = new System.Diagnostics.ProcessStartInfo(dotnet) { UseShellExecute = false };
        foreach (var arg in argv.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        using var child = System.Diagnostics.Process.Start(start)!;
        child.WaitForExit();
        return child.ExitCode;
    }

    private static string? Muxer()
    {
        var name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        string?[] candidates =
        [
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH"),
            Environment.GetEnvironmentVariable("DOTNET_ROOT") is { } root ? System.IO.Path.Combine(root, name) : null,
            .. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Select(dir => System.IO.Path.Combine(dir, name)),
            "/usr/share/dotnet/dotnet",
            "/usr/lib/dotnet/dotnet",
            "/usr/local/share/dotnet/dotnet",
        ];
        return candidates.FirstOrDefault(File.Exists);
    }

    /// <summary>Replaces this process with <paramref name="path"/>; returns only if that fails.</summary>
    private static void Exec(string path, string[] argv)
    {
        var pointers = new IntPtr[argv.Length + 1];
        try
        {
            for (var i = 0; i < argv.Length; i++)
            {
                pointers[i] = Marshal.StringToCoTaskMemUTF8(argv[i]);
            }

            _ = Execv(path, pointers);
        }
        finally
        {
            foreach (var pointer in pointers)
            {
                Marshal.FreeCoTaskMem(pointer);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "execv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Execv(string path, IntPtr[] argv);
}

/// <summary>Whether a process id names a live process (the host in <c>host.json</c>).</summary>
internal static partial class Processes
{
    private const int PermissionDenied = 1; // EPERM: it exists, owned by someone else

    public static bool IsAlive(int pid)
    {
        if (pid <= 0)
        {
            return false;
        }

        if (OperatingSystem.IsWindows())
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                return !process.HasExited;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }

        return Kill(pid, 0) == 0 || Marshal.GetLastPInvokeError() == PermissionDenied;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
