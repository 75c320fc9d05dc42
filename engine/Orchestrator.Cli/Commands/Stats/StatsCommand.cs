using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Goals;
using Orchestrator.Core.Learning;
using Orchestrator.Core.Verbs;

namespace Orchestrator.Cli.Commands.Stats;

/// <summary><c>orchestrator stats [--phase NAME]</c>: what the engine learned across runs, per phase, strategy and agent.</summary>
internal static class StatsCommand
{
    public static Command Create(CliConsole console)
    {
        var store = CommonOptions.Store();
        var phase = new Option<string?>("--phase") { Description = "Only this phase." };
        var prefer = new Option<string>("--prefer")
        {
            Description = "The goal the VALUE column weighs by, as a run's Goals(prefer: ...) would: reliability (the default), speed or cost.",
            DefaultValueFactory = _ => VerbDefaults.Prefer,
        };
        prefer.AcceptOnlyFromAmong(DslVerbs.Goals.Option("prefer").Choices.ToArray());
        var command = new Command("stats", "Show what was learned across runs: per phase, strategy and agent, the runs, successes and durations that drive strategy selection; and the monitor's baselines.")
        {
            store, phase, prefer,
        };
        command.SetAction((parse, ct) => ShowAsync(console, parse.GetValue(store)!, parse.GetValue(phase), new RunGoals { Prefer = parse.GetValue(prefer)! }, ct));
        return command;
    }

    private static async Task<int> ShowAsync(CliConsole console, string storeDirectory, string? phase, RunGoals goals, CancellationToken ct)
    {
        await using var session = StoreSession.OpenExisting(storeDirectory, console);
        var outcomes = await session.Journal.Learning.GetOutcomesAsync(phase, ct);
        if (outcomes.Count == 0)
        {
            console.Line(phase is null ? "nothing learned yet: no phase has finished in this store" : $"nothing learned yet for phase '{phase}'");
        }
        else
        {
            // What selection would make of each strategy now: recent runs weigh more, and the goals weigh the qualities.
            var values = (await LearningPreferences.ReadAsync(session.Journal.Learning, phase, goals, ct))
                .SelectMany(p => p.Strategies.Select(s => (p.Phase, s.Strategy, s.Value)))
                .ToDictionary(v => (v.Phase, v.Strategy), v => v.Value);
            var rows = outcomes.Select(o => new[]
            {
                o.Phase,
                o.Strategy,
                o.Agent,
                o.Runs.ToString(CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"{o.SuccessRate * 100:0}%"),
                $"{o.Items - o.FailedItems}/{o.Items}",
                o.MeanItemMs.ToString("0.#", CultureInfo.InvariantCulture),
                values.GetValueOrDefault((o.Phase, o.Strategy)).ToString("0.###", CultureInfo.InvariantCulture),
            }).ToList();
            TextTable.Write(console, ["PHASE", "STRATEGY", "AGENT", "RUNS", "SUCCESS", "ITEMS OK", "MS/ITEM", "VALUE"], rows);
            console.Line(string.Create(CultureInfo.InvariantCulture, $"VALUE weighs {goals.Weights} (prefer {goals.Prefer}), with recent runs first: an outcome counts half after {goals.HalfLife:0.##} runs of its phase"));
        }

        var baselines = await session.Journal.Learning.GetBaselinesAsync(ct);
        if (baselines.Count > 0)
        {
            console.Line("");
            TextTable.Write(console, ["METRIC", "MEAN", "STDDEV", "SAMPLES"], [.. baselines.OrderBy(b => b.Key, StringComparer.Ordinal).Select(b => new[]
            {
                b.Key,
                b.Value.Mean.ToString("0.###", CultureInfo.InvariantCulture),
                Math.Sqrt(b.Value.Variance).ToString("0.###", CultureInfo.InvariantCulture),
                b.Value.Count.ToString(CultureInfo.InvariantCulture),
            })]);
        }

        return ExitCodes.Success;
    }
}
