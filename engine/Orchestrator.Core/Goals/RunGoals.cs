using System.Globalization;
using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Verbs;

namespace Orchestrator.Core.Goals;

/// <summary>How much strategy selection weighs each quality; they sum to 1.</summary>
public sealed record GoalWeights(double Reliability, double Speed, double Cost)
{
    public JsonObject ToJson() => new() { ["reliability"] = Reliability, ["speed"] = Speed, ["cost"] = Cost };

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"reliability {Reliability:0.##}, speed {Speed:0.##}, cost {Cost:0.##}");
}

/// <summary>
/// What a run is trying to achieve (<c>Goals(...)</c>/<c>goals({...})</c>): what to prefer when choosing strategies, the
/// most items it may fail, the most its agents may cost, and how fast learning forgets (a half-life in runs).
/// </summary>
public sealed record RunGoals
{
    public string Prefer { get; init; } = VerbDefaults.Prefer;

    /// <summary>The most of the run's phase items that may fail, 0 to 1; null for no limit.</summary>
    public double? MaxFailureRate { get; init; }

    /// <summary>The most the run's agents may report as cost (tokens, or their own <c>cost</c>); null for no limit.</summary>
    public double? Budget { get; init; }

    /// <summary>How bad an agent call refused because the budget is spent is: critical fails the step, moderate and minor degrade it.</summary>
    public Severity OverBudget { get; init; } = Severity.Critical;

    /// <summary>After this many runs of a phase an outcome counts half as much in selection.</summary>
    public double HalfLife { get; init; } = VerbDefaults.HalfLifeRuns;

    /// <summary>The goals a run has when its script states none: reliability first.</summary>
    public static RunGoals Default { get; } = new();

    public GoalWeights Weights => Prefer switch
    {
        "speed" => new GoalWeights(0.3, 0.7, 0),
        "cost" => new GoalWeights(0.4, 0.1, 0.5),
        _ => new GoalWeights(0.7, 0.3, 0),
    };

    public static RunGoals From(VerbArguments options) => new()
    {
        Prefer = options.Text("prefer") ?? VerbDefaults.Prefer,
        MaxFailureRate = options.Optional<double>("maxFailureRate"),
        Budget = options.Optional<double>("budget"),
        HalfLife = options.Get<double>("halfLife"),
        OverBudget = PhaseBudget.SeverityOf(options),
    };

    /// <summary>The goals as journaled, so that a resumed run reads back the very goals it started with.</summary>
    public JsonObject ToJson() => new()
    {
        ["prefer"] = Prefer,
        ["maxFailureRate"] = MaxFailureRate,
        ["budget"] = Budget,
        ["halfLife"] = HalfLife,
        ["overBudget"] = OverBudget.ToString().ToLowerInvariant(),
        ["weights"] = Weights.ToJson(),
    };

    public static RunGoals FromJson(JsonNode? json) => json is JsonObject o
        ? new RunGoals
        {
            Prefer = o["prefer"]?.GetValue<string>() ?? VerbDefaults.Prefer,
            MaxFailureRate = o["maxFailureRate"]?.GetValue<double>(),
            Budget = o["budget"]?.GetValue<double>(),
            HalfLife = o["halfLife"]?.GetValue<double>() ?? VerbDefaults.HalfLifeRuns,
            OverBudget = Enum.Parse<Severity>(o["overBudget"]?.GetValue<string>() ?? VerbDefaults.OverBudget, ignoreCase: true),
        }
        : Default;
}
