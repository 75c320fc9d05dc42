using Orchestrator.Cli.Commands.Run;

namespace Orchestrator.Cli.Commands.Waits;

/// <summary>After a decision or an event is stored: a host serving the store is told, and continues the run itself.</summary>
internal static class HostNotice
{
    /// <summary>True when the host continues the run; otherwise says how to continue it.</summary>
    public static bool Wake(CliConsole console, string storeDirectory, string runId)
    {
        if (RemoteRun.Find(storeDirectory, hostOption: null, noHost: false, inProcessOnly: false) is { } host && host.Wake(runId))
        {
            console.Line($"the host serving {Path.GetFullPath(storeDirectory)} continues run {runId}");
            return true;
        }

        console.Line($"continue with: orchestrator resume {runId}");
        return false;
    }
}
