using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Orchestrator.Core.Workflow;

/// <summary>
/// Corrects a value that failed validation: gets the scope of its <c>correct</c> step (steps it runs nest there), the
/// value and its issues, and returns the corrected value, or null when it cannot correct it.
/// </summary>
public delegate Task<JsonNode?> Corrector(WorkflowScope scope, JsonNode? value, IReadOnlyList<string> issues, CancellationToken cancellationToken);

/// <summary>
/// A quality check of the run's result: gets the scope of its <c>qa/&lt;name&gt;</c> step and the result, returns the
/// issues it found (none: passed).
/// </summary>
public delegate Task<IReadOnlyList<string>> QualityCheck(WorkflowScope scope, JsonNode? result, CancellationToken cancellationToken);

/// <summary>
/// What a run checks once its script has returned: validators of the result (with an optional corrector) and quality
/// checks. Kept beside the run rather than in it, so the core run state stays as it is; registered again on resume,
/// because the script runs again.
/// </summary>
internal sealed class ValidationPlan
{
    private static readonly ConditionalWeakTable<WorkflowRun, ValidationPlan> Plans = [];

    private readonly Lock _gate = new();
    private readonly List<Validator> _resultValidators = [];
    private readonly List<(string Name, QualityCheck Check, bool Required)> _checks = [];
    private Corrector? _resultCorrector;
    private int _maxCorrections = Verbs.VerbDefaults.MaxCorrections;
    private int _finished;

    public static ValidationPlan For(WorkflowRun run) => Plans.GetValue(run, _ => new ValidationPlan());

    public static ValidationPlan? Find(WorkflowRun run) => Plans.TryGetValue(run, out var plan) ? plan : null;

    public void AddResultValidators(IEnumerable<Validator> validators, Corrector? corrector, int maxCorrections)
    {
        lock (_gate)
        {
            _resultValidators.AddRange(validators);
            if (corrector is not null)
            {
                _resultCorrector = corrector;
                _maxCorrections = maxCorrections;
            }
        }
    }

    public void AddCheck(string name, QualityCheck check, bool required)
    {
        lock (_gate)
        {
            if (_checks.Any(c => c.Name == name))
            {
                throw new ArgumentException($"there is already a quality check named '{name}'", nameof(name));
            }

            _checks.Add((name, check, required));
        }
    }

    /// <summary>True the first time only: the end-of-run phase runs once, whichever front end or host asks first.</summary>
    public bool TryBeginFinish() => Interlocked.Exchange(ref _finished, 1) == 0;

    public (IReadOnlyList<Validator> Validators, Corrector? Corrector, int MaxCorrections, IReadOnlyList<(string Name, QualityCheck Check, bool Required)> Checks) Snapshot()
    {
        lock (_gate)
        {
            return ([.. _resultValidators], _resultCorrector, _maxCorrections, [.. _checks]);
        }
    }
}
