using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Bench.Scenarios;

/// <summary>How big each scenario is and how often it is repeated; the figures are medians over the repeats.</summary>
internal sealed record ScenarioSettings
{
    /// <summary>The issue's sizes, repeated enough for stable medians.</summary>
    public static ScenarioSettings Full { get; } = new();

    /// <summary>The same sizes, fewer repeats: under two minutes on a 2-core machine.</summary>
    public static ScenarioSettings Quick { get; } = new() { Repeats = 3, CsxColdRuns = 1, CsxWarmRuns = 3, PluginLoads = 10, ScaleStepsPerChain = 300 };

    /// <summary>Concurrent chains of steps (1,000).</summary>
    [Range(1, 100_000)]
    public int Chains { get; init; } = 1_000;

    /// <summary>Awaited no-op steps per chain (10).</summary>
    [Range(1, 10_000)]
    public int StepsPerChain { get; init; } = 10;

    /// <summary>No-op steps of the .js workflow (10,000).</summary>
    [Range(1, 1_000_000)]
    public int JsSteps { get; init; } = 10_000;

    /// <summary>How long each in-process scenario runs before it is measured (at least once).</summary>
    public TimeSpan WarmUp { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Measured repeats of each in-process scenario, after the warm-up.</summary>
    [Range(1, 1_000)]
    public int Repeats { get; init; } = 7;

    /// <summary>Separate <c>orchestrator run</c> processes with an empty compile cache.</summary>
    [Range(1, 100)]
    public int CsxColdRuns { get; init; } = 3;

    /// <summary>Separate <c>orchestrator run</c> processes with a warm compile cache.</summary>
    [Range(1, 100)]
    public int CsxWarmRuns { get; init; } = 7;

    /// <summary>Plugin loads after the first, for the median.</summary>
    [Range(1, 1_000)]
    public int PluginLoads { get; init; } = 25;

    /// <summary>In-process runs before memory is first measured (100).</summary>
    [Range(1, 100_000)]
    public int MemoryWarmupRuns { get; init; } = 100;

    /// <summary>In-process runs whose memory growth is measured (10,000).</summary>
    [Range(1, 1_000_000)]
    public int MemoryRuns { get; init; } = 10_000;

    /// <summary>Chains of the one big run of the scale scenario (1,000).</summary>
    [Range(1, 100_000)]
    public int ScaleChains { get; init; } = 1_000;

    /// <summary>No-op steps per chain of the big run (1,000: a million steps; 300 with --quick).</summary>
    [Range(1, 100_000)]
    public int ScaleStepsPerChain { get; init; } = 1_000;

    /// <summary>What each of the fan-out's 16 branches prints (4,000,000 bytes: under the shell agent's cap of 4 Mi characters per stream).</summary>
    [Range(1, 4_000_000)]
    public int FanOutBytes { get; init; } = 4_000_000;

    /// <summary>The workflow the csx scenarios run: scripts/hello.csx of this repository.</summary>
    [Required]
    public string CsxScript { get; init; } = "scripts/hello.csx";

    /// <summary>The scenarios <c>--only</c> accepts, in the order they run.</summary>
    public static IReadOnlyList<string> Names { get; } = ["plugin", "csx", "scale", "raw", "inmem", "durable", "pgdurable", "cluster", "chain", "js", "memory"];

    /// <summary>The variable the PostgreSQL server's connection string is read from when <c>--postgres</c> is not given.</summary>
    public const string PostgresVariable = "ORCHESTRATOR_TEST_POSTGRES";

    /// <summary>The PostgreSQL server the pgdurable scenario journals to (each run in a schema of its own, dropped after); null for none.</summary>
    public string? Postgres { get; init; } = Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } server ? server : null;

    /// <summary>The scenarios to measure (<c>--only</c>, for profiling one of them); null for all.</summary>
    public IReadOnlySet<string>? Only { get; init; }

    public bool Includes(string scenario) => Only is null || Only.Contains(scenario);

    /// <summary>Throws listing every out-of-range setting at once.</summary>
    public ScenarioSettings Validated()
    {
        var errors = new List<ValidationResult>();
        Validator.TryValidateObject(this, new ValidationContext(this), errors, validateAllProperties: true);
        if (Only?.Except(Names).ToList() is { Count: > 0 } unknown)
        {
            errors.Add(new ValidationResult($"unknown scenario {string.Join(", ", unknown.Select(u => $"'{u}'"))}; known: {string.Join(", ", Names)}"));
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors.Select(e => e.ErrorMessage)));
        }

        return this;
    }
}
