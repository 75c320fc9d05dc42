using System.Diagnostics;
using Orchestrator.Core.Journal;

namespace Orchestrator.Bench.Scenarios;

/// <summary>
/// What the journal's hash chain adds to a step: the two entries of a typical agent step (its start with the input, its
/// end with the output) encoded and hashed as the SQLite journal's writer does it, less the same entries only encoded
/// to UTF-8, which the insert needs anyway (SQLite takes UTF-8; before the chain its binding encoded each text itself).
/// The figures are processor time, not wall time: the loop is one thread doing nothing else, and on a shared machine its
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
            Link(chain, hash, steps, hashed: true);
            Link(chain, hash, steps, hashed: false);
        }
        while (Stopwatch.GetElapsedTime(warming) < settings.WarmUp / 4);

        var hashed = new List<double>();
        var encoded = new List<double>();
        using var process = Process.GetCurrentProcess();
        for (var i = 0; i < settings.Repeats; i++)
        {
            hashed.Add(ProcessorNanoseconds(process, () => Link(chain, hash, steps, hashed: true)) / steps);
            encoded.Add(ProcessorNanoseconds(process, () => Link(chain, hash, steps, hashed: false)) / steps);
        }

        var (withHash, withoutHash) = (ScenarioRunner.Median(hashed), ScenarioRunner.Median(encoded));
        progress.WriteLine($"journal chain: {withHash - withoutHash:0} ns of processor time per step ({withHash:0} encoded and hashed, {withoutHash:0} only encoded; median of {hashed.Count})");
        // Processor time is counted in clock ticks: a run too short to resolve the difference says 0, never less.
        return Math.Max(0, withHash - withoutHash);
    }

    private static double ProcessorNanoseconds(Process process, Action work)
    {
        process.Refresh();
        var before = process.TotalProcessorTime;
        work();
        process.Refresh();
        return (process.TotalProcessorTime - before).TotalNanoseconds;
    }

    private static void Link(JournalChain chain, byte[] hash, int steps, bool hashed)
    {
        for (var step = 0L; step < steps; step++)
        {
            Entry(chain, hash, (2 * step) + 1, StepEvent.Started, Input, hashed);
            Entry(chain, hash, (2 * step) + 2, StepEvent.Succeeded, Output, hashed);
        }
    }

    private static void Entry(JournalChain chain, byte[] hash, long seq, StepEvent kind, string payload, bool hashed)
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
        if (hashed)
        {
            chain.Hash(hash);
        }
    }
}
