using System.Runtime.InteropServices;
using Orchestrator.Cli.Commands.Run;

namespace Orchestrator.Launcher;

/// <summary>
/// <c>orchestrator</c> as installed: a native program that starts in a few milliseconds. A plain <c>run</c> or
/// <c>resume</c> that a live host can take goes to the host, which runs it and renders what the CLI prints for it
/// (live progress, result, exit code); this process only relays that text and, on Ctrl+C, asks the host to cancel.
/// Everything else (every other verb, any option it does not know, no live host, a host that refuses) belongs to the
/// managed CLI, which this process becomes with the same arguments: the launcher never decides what a command means.
/// </summary>
internal static class Launcher
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
                if (Volatile.Read(ref runId) is { } id && Interlocked.Exchange(ref cancelled, 1) == 0)
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
            if (ConsoleFrames.Relay(response.Body, Console.Out, Console.Error, id => Volatile.Write(ref runId, id)) is { } exitCode)
            {
                return exitCode;
            }

            Console.Error.WriteLine("orchestrator: " + ConsoleFrames.BrokenOff(host.BaseAddress, runId));
            return 1;
        }
    }
}
