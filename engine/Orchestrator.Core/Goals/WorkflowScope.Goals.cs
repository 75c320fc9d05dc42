using System.Globalization;
using System.Text.Json.Nodes;
using Orchestrator.Core.Goals;

namespace Orchestrator.Core.Workflow;

/// <summary>Goals: stated by the script, journaled, weighed by strategy selection, checked when the run ends.</summary>
public sealed partial class WorkflowScope
{
    /// <summary>
    /// States the run's goals as step <c>goals</c>. The step's journaled output is what the run goes by, so a resumed run
    /// keeps the goals it started with; later phases weigh their strategies by them and the run's end checks them.
    /// </summary>
    public async Task<JsonNode?> GoalsAsync(RunGoals goals, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(goals);
        var stated = goals.ToJson();
        var output = await RunStepAsync("goals", "goals", null, stated, (_, _, _) => Task.FromResult<JsonNode?>(stated.DeepClone()), cancellationToken).ConfigureAwait(false);
        _run.Goals = RunGoals.FromJson(output);
        _run.GoalsStated = true;
        return output;
    }

    /// <summary>Checks the stated goals and the phases' budgets against what the run did (event <c>goal-check</c>, the report's Goals section).</summary>
    internal async Task CheckGoalsAsync()
    {
        // A phase's budget is a goal of its own, stated by its phase: checked even when the script states no goals.
        var phases = _run.PhaseBudgets;
        if (!_run.GoalsStated && phases.Count == 0)
        {
            return;
        }

        var goals = _run.Goals;
        var tally = _run.Tally;
        var checks = new JsonArray
        {
            new JsonObject
            {
                ["goal"] = "prefer",
                ["target"] = goals.Prefer,
                ["actual"] = goals.Weights.ToString(),
                ["met"] = true,
                ["detail"] = "strategy selection weighed " + goals.Weights,
            },
        };
        if (goals.MaxFailureRate is { } max)
        {
            var rate = tally.Items == 0 ? 0 : (double)tally.FailedItems / tally.Items;
            checks.Add(new JsonObject
            {
                ["goal"] = "maxFailureRate",
                ["target"] = max,
                ["actual"] = Math.Round(rate, 4),
                ["met"] = rate <= max,
                ["detail"] = string.Create(CultureInfo.InvariantCulture, $"{tally.FailedItems} of {tally.Items} phase items failed"),
            });
        }

        if (goals.Budget is { } budget)
        {
            checks.Add(new JsonObject
            {
                ["goal"] = "budget",
                ["target"] = budget,
                ["actual"] = Math.Round(tally.Cost, 4),
                ["met"] = tally.Cost <= budget,
                ["detail"] = string.Create(CultureInfo.InvariantCulture, $"the agents reported {tally.Cost:0.##} in cost"),
            });
        }

        foreach (var phase in phases)
        {
            var spent = phase.Spent;
            checks.Add(new JsonObject
            {
                ["goal"] = "phase budget",
                ["phase"] = phase.StepId,
                ["target"] = phase.Limit,
                ["actual"] = Math.Round(spent, 4),
                ["met"] = spent <= phase.Limit,
                ["detail"] = string.Create(CultureInfo.InvariantCulture, $"phase '{phase.StepId}': its agents reported {spent:0.##} in cost"),
            });
        }

        var output = goals.ToJson();
        output["checks"] = checks;
        output["met"] = checks.All(c => c!["met"]!.GetValue<bool>());
        await _run.RecordEventAsync("goal-check", "goals", goals.ToJson(), output).ConfigureAwait(false);
    }
}
