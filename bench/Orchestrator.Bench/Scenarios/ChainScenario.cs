using System.Diagnostics;
using Orchestrator.Core.Journal;

namespace Orchestrator.Bench.Scenarios;

/// <summary>
/// What the journal's hash chain costs a step: the two entries of a typical agent step (its start with the input, its
/// end with the output) encoded and hashed as the SQLite journal's writer does it, timed directly. The writer binds the
/// same UTF-8 to its insert, which it encoded before the chain too, so this is an upper bound of what the chain adds.
/// The figure is processor time, not wall time: the loop is one thread doing nothing else, and on a shared machine its
/// wall time mostly measures the other processes' load.
/// </summary>
internal static class ChainScenario
{
    private const string StepId = "chains/c417/s7";
    private const string Input = """{"command":"make","args":["test","--jobs","2"],"cwd":"/work/repo"}""";
    private const string Output = """{"exitCode":0,"stdout":"all 214 tests passed\n","stderr":"","durationMs":8123}""";

    public static double NanosecondsPerStep(ScenarioSettings settings, TextWriter progress)
    {
        // Twenty times the engine scenarios' steps (200,000): long enough for a stable figure, short enough to repeat.
        var steps = settings.Chains * settings.StepsPerChain * 20;
        using var chain = new JournalChain();
        var hash = new byte[JournalChain.HashSize];
        var warming = Stopwatch.GetTimestamp();
        do
        {
            Link(chain, hash, steps);
        }
        while (Stopwatch.GetElapsedTime(warming) < settings.WarmUp / 4);

        var samples = new List<double>();
        var walls = new List<double>();
        using var process = Process.GetCurrentProcess();
        for (var i = 0; i < settings.Repeats; i++)
        {
            process.Refresh();
            var processor = process.TotalProcessorTime;
            var started = Stopwatch.GetTimestamp();
            Link(chain, hash, steps);
            walls.Add(Stopwatch.GetElapsedTime(started).TotalNanoseconds / steps);
            process.Refresh();
            samples.Add((process.TotalProcessorTime - processor).TotalNanoseconds / steps);
        }

        var median = ScenarioRunner.Median(samples);
        progress.WriteLine($"journal chain: {median:0} ns of processor time per step, {ScenarioRunner.Median(walls):0} ns wall (two entries hashed; median of {samples.Count})");
        return median;
    }

    private static void Link(JournalChain chain, byte[] hash, int steps)
    {
        for (var step = 0L; step < steps; step++)
        {
            Entry(chain, hash, (2 * step) + 1, StepEvent.Started, Input);
            Entry(chain, hash, (2 * step) + 2, StepEvent.Succeeded, Output);
        }
    }

    private static void Entry(JournalChain chain, byte[] hash, long seq, StepEvent kind, string payload)
    {
        chain.Begin(hash, seq, 1, 1_764_000_000_000 + seq);
        chain.Add(kind == StepEvent.Started ? "Started"u8 : "Succeeded"u8);
        chain.Add(StepId);
        chain.Add("chains/c417");
        chain.Add("s7");
        chain.Add("agent");
        chain.Add("shell");
        chain.Add(payload);
        chain.AddNull();
        chain.Hash(hash);
    }
}
