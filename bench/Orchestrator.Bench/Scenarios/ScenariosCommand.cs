using System.Diagnostics;

namespace Orchestrator.Bench.Scenarios;

/// <summary><c>scenarios [--json] [--quick] [--only SCENARIO,...] [--script FILE] [--postgres CONNECTION]</c>: measure the whole scenarios and print them.</summary>
internal static class ScenariosCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var json = false;
        var quick = false;
        string? script = null;
        string? postgres = null;
        IReadOnlySet<string>? only = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--json":
                    json = true;
                    break;
                case "--quick":
                    quick = true;
                    break;
                case "--script" when i + 1 < args.Length:
                    script = args[++i];
                    break;
                case "--postgres" when i + 1 < args.Length:
                    postgres = args[++i];
                    break;
                case "--only" when i + 1 < args.Length:
                    only = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
                    break;
                default:
                    stderr.WriteLine($"orchestrator-bench: unknown argument '{args[i]}'; usage: scenarios [--json] [--quick] [--only SCENARIO,...] [--script FILE] [--postgres CONNECTION]");
                    return 2;
            }
        }

        var settings = quick ? ScenarioSettings.Quick : ScenarioSettings.Full;
        if (script is not null)
        {
            settings = settings with { CsxScript = script };
        }

        settings = settings with { Only = only, Postgres = postgres ?? settings.Postgres };
        try
        {
            settings = settings.Validated();
        }
        catch (ArgumentException ex)
        {
            stderr.WriteLine($"orchestrator-bench: {ex.Message}");
            return 2;
        }

        if (settings.Includes("csx") && !File.Exists(settings.CsxScript))
        {
            stderr.WriteLine($"orchestrator-bench: {Path.GetFullPath(settings.CsxScript)} not found; run from the repository root or pass --script");
            return 2;
        }

        var started = Stopwatch.GetTimestamp();
        var results = await MeasureAsync(settings, stderr, cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        stdout.WriteLine(json ? results.ToJsonLine(quick, elapsed) : results.ToTable());
        return 0;
    }

    /// <summary>Runs every scenario in a scratch folder removed afterwards; progress goes to <paramref name="progress"/>.</summary>
    public static async Task<ScenarioResults> MeasureAsync(ScenarioSettings settings, TextWriter progress, CancellationToken cancellationToken)
    {
        var work = Path.Combine(Path.GetTempPath(), "orchestrator-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            return await new ScenarioRunner(settings, work, progress).RunAllAsync(cancellationToken);
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
                // A plugin file still mapped; the OS cleans temp folders.
            }
        }
    }
}
