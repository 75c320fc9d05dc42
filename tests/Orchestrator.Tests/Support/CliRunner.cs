using Orchestrator.Cli;

namespace Orchestrator.Tests.Support;

/// <summary>Drives the real <c>orchestrator</c> command line in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static async Task<CliResult> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await CliApp.InvokeAsync(args, stdout, stderr, CancellationToken.None);
        return new CliResult(exitCode, stdout.ToString(), stderr.ToString());
    }
}

internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The last line of standard output: where <c>--json</c> puts its object.</summary>
    public string LastLine => Stdout.TrimEnd().Split('\n')[^1].Trim();

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}
