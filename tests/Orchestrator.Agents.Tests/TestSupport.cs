using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace Orchestrator.Agents.Tests;

internal static class TestSupport
{
    public static AgentTask TaskOf(JsonNode? input) => new("run-1", "step-1", input);

    public static AgentTask TaskOf(string inputJson) => TaskOf(JsonNode.Parse(inputJson));

    /// <summary>Polls a condition at a short interval, bounded so a broken test fails instead of hanging.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, int withinMs = 10_000)
    {
        using var limit = new CancellationTokenSource(withinMs);
        while (!condition())
        {
            try
            {
                await Task.Delay(20, limit.Token);
            }
            catch (OperationCanceledException)
            {
                return condition();
            }
        }

        return true;
    }

    /// <summary>
    /// Whether a process is still running, from /proc. A zombie counts as dead: it has been killed and only
    /// waits to be reaped, which an orphan's new parent in a container may never do.
    /// </summary>
    public static bool IsRunning(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return false;
        }

        // The state letter follows the command name, which is in parentheses and may itself contain spaces.
        var state = stat[(stat.LastIndexOf(')') + 2)..][0];
        return state is not ('Z' or 'X');
    }

    public static int ReadPid(string path) => int.Parse(File.ReadAllText(path).Trim());
}

/// <summary>A temporary directory, deleted when disposed.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("orch-agents-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp directory must not fail a test.
        }
    }
}
