using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace Orchestrator.Core.Workflow;

/// <summary>
/// Validation, auto-correction and quality checks: a value (an agent's output, the run's result) is checked against
/// validators; a corrector may fix it, and the fix is checked again; quality checks of the result run when the script
/// has returned, and their verdicts go into the handoff package and the report.
/// </summary>
public sealed partial class WorkflowScope
{
    /// <summary>Error messages list this many issues at most; the journaled output has them all.</summary>
    private const int IssuesInMessage = 20;

    /// <summary>
    /// Validates <paramref name="value"/> as the step <paramref name="name"/> (kind <c>validate</c>): every validator
    /// runs and their issues are collected. If there are issues and a <paramref name="correct"/>or is given, it runs as
    /// the child step <c>correct</c> (kind <c>correction</c>, input <c>{ value, issues }</c>) and what it returns is
    /// validated again, up to <paramref name="maxCorrections"/> times. Returns the valid (possibly corrected) value;
    /// otherwise the step fails with <c>validation failed: issue; issue…</c>, its output <c>{ value, issues }</c>.
    /// </summary>
    public Task<JsonNode?> ValidateAsync(
        string name,
        JsonNode? value,
        IReadOnlyList<Validator> validators,
        Corrector? correct = null,
        int maxCorrections = Verbs.VerbDefaults.MaxCorrections,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        CheckValidators(validators, $"validate '{name}'");
        CheckMaxCorrections(maxCorrections);
        var input = new JsonObject
        {
            ["value"] = value?.DeepClone(),
            ["validators"] = new JsonArray([.. validators.Select(v => v.Describe())]),
            ["maxCorrections"] = correct is null ? 0 : maxCorrections,
        };
        return RunStepAsync(name, "validate", null, input, (scope, _, ct) => scope.ValidateBodyAsync(value?.DeepClone(), validators, correct, maxCorrections, ct), cancellationToken);
    }

    /// <summary>
    /// Validates the run's result, once the script has returned, as the step <c>result</c> (see <see cref="ValidateAsync"/>);
    /// a result still invalid fails the run. Validators add up over calls; a corrector given replaces an earlier one.
    /// </summary>
    public void ValidateResult(IReadOnlyList<Validator> validators, Corrector? correct = null, int maxCorrections = Verbs.VerbDefaults.MaxCorrections)
    {
        CheckValidators(validators, "validateResult");
        CheckMaxCorrections(maxCorrections);
        ValidationPlan.For(_run).AddResultValidators(validators, correct, maxCorrections);
    }

    /// <summary>
    /// Registers a quality check of the run's result. Checks run in the order registered once the script has returned
    /// (and its result is validated), each as the step <c>qa/&lt;name&gt;</c> (kind <c>qa</c>) with the output
    /// <c>{ name, passed, required, issues }</c>. A failing check leaves its step degraded and the run goes on; a failing
    /// <paramref name="required"/> check fails its step and, once all checks have run, the run. A check that throws fails
    /// with that as its issue.
    /// </summary>
    public void AddQualityCheck(string name, QualityCheck check, bool required = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(check);
        ValidationPlan.For(_run).AddCheck(name, check, required);
    }

    /// <summary>Whether the run has result validators or quality checks still to run once the script returns.</summary>
    internal bool HasEndOfRunWork => ValidationPlan.Find(_run) is { } plan && plan.Snapshot() is var p && (p.Validators.Count > 0 || p.Checks.Count > 0);

    /// <summary>
    /// The end of a run, after the script returned <paramref name="result"/>: validates the result (it may come back
    /// corrected), then runs the quality checks. Runs once per run: the JavaScript front end calls it while its event
    /// loop can still call script functions, and the engine calls it for every program after the script returned.
    /// </summary>
    internal async Task<JsonNode?> FinishRunAsync(JsonNode? result, CancellationToken cancellationToken)
    {
        if (ValidationPlan.Find(_run) is not { } plan || !plan.TryBeginFinish())
        {
            return result;
        }

        var (validators, corrector, maxCorrections, checks) = plan.Snapshot();
        var root = _run.Root;
        if (validators.Count > 0)
        {
            result = await root.ValidateAsync("result", result, validators, corrector, maxCorrections, cancellationToken).ConfigureAwait(false);
        }

        if (checks.Count > 0)
        {
            await root.RunQualityChecksAsync(result, checks, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    private async Task<JsonNode?> ValidateBodyAsync(JsonNode? value, IReadOnlyList<Validator> validators, Corrector? correct, int maxCorrections, CancellationToken ct)
    {
        var current = value;
        var issues = await IssuesOfAsync(current, validators, ct).ConfigureAwait(false);
        var corrections = 0;
        var gaveUp = false;
        while (issues.Count > 0 && correct is not null && corrections < maxCorrections)
        {
            corrections++;
            var (before, found) = (current, issues);
            var input = new JsonObject { ["value"] = before?.DeepClone(), ["issues"] = IssueArray(found) };
            var corrected = await RunStepAsync("correct", "correction", null, input, (scope, _, t) => correct(scope, before?.DeepClone(), found, t), ct).ConfigureAwait(false);
            if (corrected is null)
            {
                gaveUp = true;
                break;
            }

            current = corrected;
            issues = await IssuesOfAsync(current, validators, ct).ConfigureAwait(false);
        }

        if (issues.Count == 0)
        {
            if (corrections > 0)
            {
                _run.Log.Information("Step {StepId}: the value is valid after {Corrections} correction(s)", _path, corrections);
            }

            return current;
        }

        var why = gaveUp ? " (the corrector could not correct it)" : corrections > 0 ? $" (still invalid after {corrections} correction(s))" : "";

        // AgentFailedException is the failure that carries an output, so that the journal keeps the invalid value and every issue.
        throw new AgentFailedException(
            $"validation failed: {Summarize(issues)}{why}",
            new JsonObject { ["value"] = current?.DeepClone(), ["issues"] = IssueArray(issues) },
            Severity.Critical);
    }

    private async Task<List<string>> IssuesOfAsync(JsonNode? value, IReadOnlyList<Validator> validators, CancellationToken ct)
    {
        var issues = new List<string>();
        foreach (var validator in validators)
        {
            IReadOnlyList<string> found;
            try
            {
                found = await validator.CheckAsync(this, value, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A validator that breaks says nothing about the value: no corrector can help, so the step fails.
                throw new InvalidOperationException($"validator '{validator.Name}' failed: {(ex is StepFailedException s ? s.Reason : ex.Message)}", ex);
            }

            issues.AddRange(found.Where(i => !issues.Contains(i)));
        }

        return issues;
    }

    private async Task RunQualityChecksAsync(JsonNode? result, IReadOnlyList<(string Name, QualityCheck Check, bool Required)> checks, CancellationToken cancellationToken)
    {
        var input = new JsonObject
        {
            ["checks"] = new JsonArray([.. checks.Select(c => new JsonObject { ["name"] = c.Name, ["required"] = c.Required })]),
        };
        await RunStepAsync("qa", "quality", null, input, async (scope, _, ct) =>
        {
            var (passed, failed) = (0, 0);
            var requiredFailures = new List<string>();
            foreach (var (name, check, required) in checks)
            {
                var issues = await scope.RunQualityCheckAsync(name, check, required, result, ct).ConfigureAwait(false);
                if (issues.Count == 0)
                {
                    passed++;
                    continue;
                }

                failed++;
                if (required)
                {
                    requiredFailures.Add($"{name}: {Summarize(issues)}");
                }
            }

            var summary = new JsonObject { ["passed"] = passed, ["failed"] = failed };
            return requiredFailures.Count == 0
                ? summary
                : throw new AgentFailedException($"required quality check failed: {string.Join("; ", requiredFailures)}", summary, Severity.Critical);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs one check as the step <c>qa/&lt;name&gt;</c>; returns its issues (none: passed).</summary>
    private async Task<IReadOnlyList<string>> RunQualityCheckAsync(string name, QualityCheck check, bool required, JsonNode? result, CancellationToken ct)
    {
        try
        {
            var output = await RunStepAsync(name, "qa", null, new JsonObject { ["required"] = required }, async (scope, _, t) =>
            {
                IReadOnlyList<string> issues;
                try
                {
                    issues = [.. (await check(scope, result?.DeepClone(), t).ConfigureAwait(false) ?? []).Where(i => !string.IsNullOrWhiteSpace(i))];
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    issues = [$"the check threw: {(ex is StepFailedException s ? s.Message : ex.Message)}"];
                }

                var verdict = new JsonObject { ["name"] = name, ["passed"] = issues.Count == 0, ["required"] = required, ["issues"] = IssueArray(issues) };
                if (issues.Count == 0)
                {
                    return verdict;
                }

                // Not required: reported (the step is degraded) while the run goes on.
                var message = $"quality check failed: {Summarize(issues)}";
                throw required
                    ? new AgentFailedException(message, verdict, Severity.Critical)
                    : new StepDegradedException(Severity.Moderate, message, verdict);
            }, ct).ConfigureAwait(false);
            return IssuesOf(output);
        }
        catch (StepFailedException ex) when (required && ex.InnerException is AgentFailedException { Output: var verdict })
        {
            return IssuesOf(verdict);
        }
    }

    private static IReadOnlyList<string> IssuesOf(JsonNode? verdict) =>
        verdict?["issues"] is JsonArray issues ? [.. issues.Select(i => i?.GetValue<string>() ?? "")] : [];

    private static JsonArray IssueArray(IEnumerable<string> issues) => new([.. issues.Select(i => JsonValue.Create(i))]);

    private static string Summarize(IReadOnlyList<string> issues) =>
        issues.Count <= IssuesInMessage
            ? string.Join("; ", issues)
            : string.Join("; ", issues.Take(IssuesInMessage)) + $"; … and {issues.Count - IssuesInMessage} more";

    private static void CheckValidators(IReadOnlyList<Validator> validators, string usage)
    {
        ArgumentNullException.ThrowIfNull(validators);
        if (validators.Count == 0 || validators.Any(v => v is null))
        {
            throw new ArgumentException($"{usage} needs at least one validator (a schema or a check), and no null ones", nameof(validators));
        }
    }

    private static void CheckMaxCorrections(int maxCorrections)
    {
        if (maxCorrections < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxCorrections), maxCorrections, "maxCorrections must be 0 or more");
        }
    }
}
