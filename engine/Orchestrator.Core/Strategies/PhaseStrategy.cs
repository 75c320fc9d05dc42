using System.Globalization;
using System.Text.Json.Nodes;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Strategies;

/// <summary>How a phase coordinates its work items.</summary>
public enum CoordinationMode
{
    /// <summary>One item at a time.</summary>
    Sequential,

    /// <summary>Up to <see cref="PhaseStrategy.Concurrency"/> items at once.</summary>
    Parallel,

    /// <summary>
    /// With a <see cref="PhaseStrategy.Master"/>, the master splits each item into subtasks that workers (the strategy's
    /// agent) run up to the concurrency, and integrates their results; without one, the phase's split and integrate are
    /// the master and items go to the workers up to the concurrency.
    /// </summary>
    MasterWorker,

    /// <summary>Every agent that can do the work proposes a result for each item; a majority decides.</summary>
    PeerToPeer,
}

/// <summary>
/// A named, serialisable way to run a phase: coordination mode, concurrency, which agent (a kind, or a capability
/// that several kinds declare), per-item timeout, recovery chain, and the effectiveness below which the phase
/// switches to another strategy.
/// </summary>
public sealed record PhaseStrategy
{
    public required string Name { get; init; }

    public CoordinationMode Mode { get; init; } = CoordinationMode.Sequential;

    /// <summary>Items at once in parallel and master-worker modes; sequential is always 1.</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>The agent kind or capability the work items run on; null when the phase's worker is script code.</summary>
    public string? Agent { get; init; }

    public TimeSpan? Timeout { get; init; }

    /// <summary>In master-worker mode, the agent kind or capability that splits each item and integrates its subtasks' results.</summary>
    public string? Master { get; init; }

    public RecoveryChain? Recovery { get; init; }

    /// <summary>Between 0 and 1; 0 never switches.</summary>
    public double MinEffectiveness { get; init; }

    /// <summary>Items at once as the mode allows.</summary>
    public int EffectiveConcurrency => Mode == CoordinationMode.Sequential ? 1 : Math.Max(1, Concurrency);

    /// <summary>Checks the strategy, naming the phase and the field in the message.</summary>
    public void Validate(string phase)
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            throw new ArgumentException($"phase '{phase}': a strategy needs a name");
        }

        if (Concurrency < 1)
        {
            throw new ArgumentException($"phase '{phase}', strategy '{Name}': concurrency must be at least 1, not {Concurrency}");
        }

        if (MinEffectiveness is < 0 or > 1 || double.IsNaN(MinEffectiveness))
        {
            throw new ArgumentException($"phase '{phase}', strategy '{Name}': minEffectiveness must be between 0 and 1, not {MinEffectiveness.ToString(CultureInfo.InvariantCulture)}");
        }

        if (Timeout is { } t && t <= TimeSpan.Zero)
        {
            throw new ArgumentException($"phase '{phase}', strategy '{Name}': a timeout must be positive, not {t}");
        }

        if (Master is not null && (Mode != CoordinationMode.MasterWorker || string.IsNullOrWhiteSpace(Master)))
        {
            throw new ArgumentException($"phase '{phase}', strategy '{Name}': a master is a non-empty agent kind or capability, for master-worker mode only");
        }

        if (Mode == CoordinationMode.PeerToPeer && Agent is null)
        {
            throw new ArgumentException($"phase '{phase}', strategy '{Name}': peer-to-peer needs an agent capability for the peers");
        }
    }

    /// <summary>The strategy with a recommendation's fields applied (<c>concurrency</c>, <c>timeoutMs</c>, <c>agent</c>).</summary>
    /// <summary>How far tuning may take a timeout or a concurrency: this many times what the script declared.</summary>
    public const int TuningCeiling = 4;

    /// <summary>The strategy as the script declared it, before any tuning: what the ceilings are measured from.</summary>
    public PhaseStrategy Declared => _declared ?? this;

    private PhaseStrategy? _declared;

    /// <summary>The highest item timeout tuning may set: <see cref="TuningCeiling"/> times the declared one.</summary>
    public TimeSpan? MaxTimeout => Declared.Timeout * TuningCeiling;

    /// <summary>The highest concurrency tuning may set: <see cref="TuningCeiling"/> times the declared one.</summary>
    public int MaxConcurrency => Declared.Concurrency * TuningCeiling;

    /// <summary>The strategy with a recommendation's change; timeout and concurrency stay within their ceilings, whatever was stored.</summary>
    public PhaseStrategy With(JsonObject change) => this with
    {
        _declared = Declared,
        Concurrency = change["concurrency"]?.GetValue<int>() is { } concurrency ? Math.Min(concurrency, MaxConcurrency) : Concurrency,
        Timeout = change["timeoutMs"] is JsonValue ms && MaxTimeout is { } maxTimeout ? Min(TimeSpan.FromMilliseconds(Milliseconds(ms)), maxTimeout) : Timeout,
        Agent = change["agent"]?.GetValue<string>() ?? Agent,
    };

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    // A change read from the store holds a JSON number; one made in this process may hold an int or a double.
    private static double Milliseconds(JsonValue value) => value.TryGetValue<double>(out var ms) ? ms : value.GetValue<int>();

    /// <summary>The strategy as the journal shows it (a record's own ToString would recurse through <see cref="Declared"/>).</summary>
    public override string ToString() => ToJson().ToJsonString();

    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["name"] = Name,
            ["mode"] = ModeName(Mode),
            ["concurrency"] = EffectiveConcurrency,
            ["agent"] = Agent,
            ["timeoutMs"] = Timeout?.TotalMilliseconds,
            ["recovery"] = Recovery is null ? null : new JsonArray([.. Recovery.Links.Select(l => JsonValue.Create(l.Strategy))]),
            ["minEffectiveness"] = MinEffectiveness,
        };

        // Only when there is one, so that strategies without a master journal as they always did.
        if (Master is not null)
        {
            json["master"] = Master;
        }

        return json;
    }

    public static string ModeName(CoordinationMode mode) => mode switch
    {
        CoordinationMode.Sequential => "sequential",
        CoordinationMode.Parallel => "parallel",
        CoordinationMode.MasterWorker => "master-worker",
        _ => "peer-to-peer",
    };

    /// <summary>Reads a mode as scripts write it: <c>sequential</c>, <c>parallel</c>, <c>master-worker</c>, <c>peer-to-peer</c>.</summary>
    public static CoordinationMode ParseMode(string text) => text.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant() switch
    {
        "sequential" => CoordinationMode.Sequential,
        "parallel" => CoordinationMode.Parallel,
        "masterworker" => CoordinationMode.MasterWorker,
        "peertopeer" or "p2p" => CoordinationMode.PeerToPeer,
        _ => throw new ArgumentException($"unknown coordination mode '{text}'; use sequential, parallel, master-worker or peer-to-peer"),
    };
}
