using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Reporting;

/// <summary>
/// The JSON form of a <see cref="HandoffPackage"/> (<c>reports/&lt;runId&gt;.json</c>): indented, camelCase,
/// enums as camelCase strings, with the members <c>run</c>, <c>steps</c> (the steps the report lists), <c>summary</c>
/// (counts, step groups, and the failures and notable steps that <c>steps</c> does not list), <c>data</c>,
/// <c>title</c> and <c>qa</c>. The template path is not part of it: it is a local detail of the machine the run
/// happened on. <c>qa</c> is derived from the steps, so reading a package derives it again rather than trusting the file.
/// </summary>
internal static class HandoffPackageJson
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    public static string Serialize(HandoffPackage package)
    {
        ArgumentNullException.ThrowIfNull(package);
        return JsonSerializer.Serialize(Document(package), Options);
    }

    /// <summary>Writes the package to <paramref name="stream"/> as it serializes, without the whole text in memory.</summary>
    public static Task SerializeAsync(Stream stream, HandoffPackage package, CancellationToken cancellationToken) =>
        JsonSerializer.SerializeAsync(stream, Document(package), Options, cancellationToken);

    /// <summary>Reads a package written by <see cref="Serialize"/>; its template path is null.</summary>
    public static HandoffPackage Deserialize(string json)
    {
        var document = JsonSerializer.Deserialize<PackageDocument>(json, Options)
            ?? throw new JsonException("a handoff package must be a JSON object, not null");
        var run = document.Run ?? throw new JsonException("a handoff package needs a 'run'");
        var steps = document.Steps ?? [];
        var package = new HandoffPackage(run, steps, document.Data, null, document.Title);
        if (document.Summary is not { } summary)
        {
            return package;
        }

        return package with
        {
            Digest = new StepDigest(
                summary.Counts ?? new Dictionary<RunStatus, long>(),
                summary.Groups ?? [],
                summary.StepsOmitted,
                [.. steps.Where(s => s.Status == RunStatus.Failed).Concat(summary.Failures ?? []).Take(StepDigestBuilder.FailureLimit)],
                summary.FailuresOmitted,
                [.. steps.Where(s => StepDigest.IsNotable(s.Kind)).Concat(summary.Notable ?? [])]),
        };
    }

    private static PackageDocument Document(HandoffPackage package)
    {
        var digest = package.Digest;
        var listed = new HashSet<string>(package.Steps.Select(s => s.Id), StringComparer.Ordinal);
        var summary = new PackageSummary(
            digest.Total,
            digest.Counts,
            digest.StepsOmitted,
            digest.Groups,
            [.. digest.Failures.Where(s => !listed.Contains(s.Id))],
            digest.FailuresOmitted,
            [.. digest.Notable.Where(s => !listed.Contains(s.Id))]);
        return new PackageDocument(package.Run, package.Steps, summary, package.Data, package.Title, package.Qa);
    }

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = true,
            IndentSize = 2,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));

        // Generated metadata: every run writes a package, and building it by reflection cost more than the rest of a small run.
        options.TypeInfoResolver = PackageJsonContext.Default;
        options.MakeReadOnly();
        return options;
    }

    internal sealed record PackageDocument(RunRecord? Run, IReadOnlyList<StepRecord>? Steps, PackageSummary? Summary, JsonNode? Data, string? Title, IReadOnlyList<QaCheckResult>? Qa);

    /// <summary>Every step of the run in figures, and the failed and notable steps that <c>steps</c> leaves out.</summary>
    internal sealed record PackageSummary(
        long Total,
        IReadOnlyDictionary<RunStatus, long>? Counts,
        long StepsOmitted,
        IReadOnlyList<StepGroup>? Groups,
        IReadOnlyList<StepRecord>? Failures,
        long FailuresOmitted,
        IReadOnlyList<StepRecord>? Notable);
}

[JsonSerializable(typeof(HandoffPackageJson.PackageDocument))]
internal sealed partial class PackageJsonContext : JsonSerializerContext;
