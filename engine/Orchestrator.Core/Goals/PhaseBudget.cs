using System.Globalization;
using Orchestrator.Abstractions;
using Orchestrator.Core.Verbs;

namespace Orchestrator.Core.Goals;

/// <summary>
/// A phase's own budget (the phase's <c>budget</c> option): the cost its agents report, counted as they report it and
/// from the journal of the run's earlier attempts, against the most it may spend. The run's budget holds beside it.
/// </summary>
internal sealed class PhaseBudget(string stepId, double limit, Severity overBudget, double spentEarlier)
{
    private readonly Lock _gate = new();
    private readonly string _inside = stepId + "/";
    private double _spent = spentEarlier;

    /// <summary>The phase's step id: its budget covers the steps under it.</summary>
    public string StepId { get; } = stepId;

    public double Limit { get; } = limit;

    /// <summary>How bad a call refused because the budget is spent is.</summary>
    public Severity OverBudget { get; } = overBudget;

    public double Spent
    {
        get
        {
            lock (_gate)
            {
                return _spent;
            }
        }
    }

    /// <summary>The agents have reported more than the budget: the phase's further calls are refused.</summary>
    public bool IsSpent => Spent > Limit;

    /// <summary>Whether a step (<paramref name="stepId"/>, a scope's path) runs inside the phase.</summary>
    public bool Covers(string? stepId) => stepId is not null && stepId.StartsWith(_inside, StringComparison.Ordinal);

    public void Add(double cost)
    {
        lock (_gate)
        {
            _spent += cost;
        }
    }

    /// <summary>Why a call is refused, as its step's error says it.</summary>
    public string Refusal() => string.Create(CultureInfo.InvariantCulture, $"the budget of phase '{StepId}' ({Limit}) is spent: its agents reported {Spent:0.##}");

    /// <summary>The severity an <c>overBudget</c> option names (the core's default when it is left out).</summary>
    public static Severity SeverityOf(VerbArguments options) =>
        Enum.Parse<Severity>(options.Text("overBudget") ?? VerbDefaults.OverBudget, ignoreCase: true);
}
