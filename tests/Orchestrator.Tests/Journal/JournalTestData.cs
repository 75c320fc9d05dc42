using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Journal;

/// <summary>Records, fixtures and process ids the journal and <c>runs</c> tests share.</summary>
internal static class JournalTestData
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    /// <summary>A journal written by format 1: three runs (succeeded, failed, left running) and their steps.</summary>
    public static string FormatOneFixture => Path.Combine(RepoPaths.Root, "tests", "Orchestrator.Tests", "Journal", "Fixtures", "journal-v1.db");

    /// <summary>Copies the format-1 fixture into <paramref name="storeDirectory"/> as its journal; the fixture itself is never opened.</summary>
    public static string CopyFormatOneFixture(string storeDirectory)
    {
        Directory.CreateDirectory(storeDirectory);
        var path = Path.Combine(storeDirectory, "journal.db");
        File.Copy(FormatOneFixture, path);
        return path;
    }

    public static RunRecord Run(string id, DateTimeOffset? startedAt = null) => new()
    {
        Id = id,
        Script = "/tmp/x.csx",
        ScriptHash = "abc",
        Language = "csharp",
        EngineVersion = "0.1.0",
        StartedAt = startedAt ?? T0,
    };

    public static JournalEntry Entry(string run, long seq, string step, StepEvent e, JsonNode? payload = null) =>
        new(run, seq, step, e, null, step, "agent", "shell", 1, payload, e == StepEvent.Failed ? "boom" : null, T0.AddSeconds(seq));

    /// <summary>The id of a process that ran on this machine and has exited (and been reaped).</summary>
    public static int ExitedProcessId()
    {
        using var process = Process.Start(OperatingSystem.IsWindows()
            ? new ProcessStartInfo("cmd", "/c exit 0") { UseShellExecute = false, CreateNoWindow = true }
            : new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }

    /// <summary>Starts a process that lives for a minute unless killed: a live process id that is not this one.</summary>
    public static Process StartLiveProcess()
    {
        var info = OperatingSystem.IsWindows()
            ? new ProcessStartInfo("cmd", "/c ping -n 60 127.0.0.1 >nul") { UseShellExecute = false, CreateNoWindow = true }
            : new ProcessStartInfo("sleep", "60") { UseShellExecute = false };
        return Process.Start(info)!;
    }

    public static void Stop(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        process.Dispose();
    }
}
