namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// The bounds a JavaScript workflow runs within. Jint checks them while script code runs; each applies to
/// one stretch of script execution between two waits (the top of the script up to its first pending
/// <c>await</c>, then each resumption), so a long workflow that mostly waits on steps is not penalised, while
/// a script that never yields (an infinite loop, unbounded recursion or allocation) is stopped.
/// </summary>
internal sealed class JavaScriptOptions
{
    /// <summary>The defaults: 10,000,000 statements, recursion depth 256 with the stack guard on, 256 MB, 10 minutes.</summary>
    public static JavaScriptOptions Default { get; } = new();

    /// <summary>How many statements one stretch of script may execute. Must be positive and below <see cref="int.MaxValue"/>.</summary>
    public int MaxStatements { get; init; } = 10_000_000;

    /// <summary>How deep script functions may recurse. Must be positive.</summary>
    public int RecursionLimit { get; init; } = 256;

    /// <summary>
    /// Whether Jint probes the native stack on each function entry and raises a catchable
    /// <c>RangeError</c> before it runs out: the backstop for recursion the depth limit cannot see
    /// (getters, coercions, <c>new</c>). Without it such a recursion kills the whole host process.
    /// </summary>
    public bool StackGuard { get; init; } = true;

    /// <summary>How many bytes one stretch of script may allocate. Must be positive.</summary>
    public long MemoryLimitBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>How long one stretch of script may run without waiting on a step. Must be positive.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first value that is not a real limit.</summary>
    public void Validate()
    {
        // Jint reads a non-positive (or saturated) value as "no limit", so those would silently disable the bound.
        if (MaxStatements <= 0 || MaxStatements == int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxStatements), MaxStatements, "the statement limit must be positive and below int.MaxValue");
        }

        if (RecursionLimit <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(RecursionLimit), RecursionLimit, "the recursion limit must be positive");
        }

        if (MemoryLimitBytes <= 0 || MemoryLimitBytes == long.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(MemoryLimitBytes), MemoryLimitBytes, "the memory limit must be positive and below long.MaxValue");
        }

        if (Timeout <= TimeSpan.Zero || Timeout == TimeSpan.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "the timeout must be positive and finite");
        }
    }
}
