using System.Diagnostics;

namespace Orchestrator.Tests.Support;

/// <summary>Runs one of the repository's <c>build/</c> scripts (the idempotent npm installs) and fails the test if it fails.</summary>
internal static class BuildScripts
{
    public static async Task RunAsync(string script)
    {
        using var process = Process.Start(new ProcessStartInfo("bash", [Path.Combine(RepoPaths.Root, "build", script)])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        process.ExitCode.Should().Be(0, $"build/{script} failed: " + await stderr);
    }
}
