using System.Diagnostics;
using System.Globalization;

namespace Orchestrator.Core.Journal;

/// <summary>
/// Whether a process id names a live process on this machine. Nothing but the base library: the native launcher
/// compiles this file too, to judge a store's <c>host.json</c> as the CLI does.
/// </summary>
internal static class ProcessLiveness
{
    public static bool IsAlive(int pid)
    {
        if (pid <= 0)
        {
            return false;
        }

        if (pid == Environment.ProcessId)
        {
            return true;
        }

        if (OperatingSystem.IsLinux())
        {
            return IsAliveOnLinux(pid);
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false; // it exited while we looked
        }
        catch (Exception)
        {
            return true; // cannot tell (no permission): never treat a possibly live process as gone
        }
    }

    /// <summary>/proc/&lt;pid&gt;/stat exists and the process is not a zombie (exited, not yet reaped) or dead.</summary>
    private static bool IsAliveOnLinux(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/stat");
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
        catch (Exception)
        {
            return true; // cannot tell: never treat a possibly live process as gone
        }

        // "pid (comm) S ...": the state follows the last ')' (comm may itself contain parentheses).
        var close = stat.LastIndexOf(')');
        var state = close >= 0 && close + 2 < stat.Length ? stat[close + 2] : 'R';
        return state is not ('Z' or 'X' or 'x');
    }
}
