namespace Orchestrator.Abstractions;

/// <summary>How much a failure matters to the run.</summary>
public enum Severity
{
    /// <summary>Log and continue.</summary>
    Minor,

    /// <summary>Degrade the step and continue.</summary>
    Moderate,

    /// <summary>Recover or fail the run.</summary>
    Critical,
}
