using System.Text.Json.Nodes;
using Orchestrator.Core.Goals;
using Orchestrator.Core.Verbs;

namespace Orchestrator.Scripting.CSharp;

/// <summary>Goals in C#: <c>await Goals(new { prefer = "speed", maxFailureRate = 0.05, budget = 20000 })</c>, or with named arguments.</summary>
public sealed partial class WorkflowGlobals
{
    /// <summary>
    /// States what the run is trying to achieve: <paramref name="prefer"/> (<c>reliability</c>, <c>speed</c> or <c>cost</c>)
    /// weighs strategy selection, <paramref name="maxFailureRate"/> and <paramref name="budget"/> are checked when the run
    /// ends (the report's Goals section), and <paramref name="halfLife"/> is how many runs it takes an outcome to count half.
    /// </summary>
    /// <remarks>Once the agents' reported cost is over <paramref name="budget"/>, agent calls fail with <paramref name="overBudget"/> (critical, moderate or minor).</remarks>
    public Task<JsonNode?> Goals(
        string prefer = VerbDefaults.Prefer, double? maxFailureRate = null, double? budget = null, double halfLife = VerbDefaults.HalfLifeRuns, string overBudget = VerbDefaults.OverBudget) =>
        Scope.GoalsAsync(RunGoals.From(Read(DslVerbs.Goals, ("prefer", prefer), ("maxFailureRate", maxFailureRate), ("budget", budget), ("halfLife", halfLife), ("overBudget", overBudget))), CancellationToken);

    /// <summary>The goals as an object: <c>Goals(new { prefer = "speed", maxFailureRate = 0.05 })</c>.</summary>
    public Task<JsonNode?> Goals(object goals) =>
        Scope.GoalsAsync(RunGoals.From(DslVerbs.Goals.Read(ToJson(goals) as JsonObject ?? throw new ArgumentException($"{DslVerbs.Goals.Usage}: the goals must be an object such as new {{ prefer = \"speed\" }}"))), CancellationToken);
}
