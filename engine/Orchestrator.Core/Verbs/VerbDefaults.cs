namespace Orchestrator.Core.Verbs;

/// <summary>
/// The DSL's defaults, in one place: the verb definitions carry them, the engine's plans start from them, and C#'s
/// optional parameters name them (they must be constants there).
/// </summary>
public static class VerbDefaults
{
    /// <summary>How many of a strategy's latest items its effectiveness score looks at.</summary>
    public const int PhaseWindow = 5;

    /// <summary>How much strategy selection favours strategies tried less often (the UCB exploration weight).</summary>
    public const double PhaseExploration = 0.5;

    /// <summary>How many times a validation's corrector may try before the value is given up as invalid.</summary>
    public const int MaxCorrections = 3;

    public const bool ContinueOnFailure = false;

    public const bool Contribute = true;

    public const string OnNoQuorum = "throw";

    public const bool QaRequired = false;

    /// <summary>What strategy selection favours when a run states no goals.</summary>
    public const string Prefer = "reliability";

    /// <summary>After this many runs of a phase, an outcome counts half as much in strategy selection.</summary>
    public const double HalfLifeRuns = 2;

    /// <summary>How bad an agent call refused because the run's budget is spent is.</summary>
    public const string OverBudget = "critical";
}
