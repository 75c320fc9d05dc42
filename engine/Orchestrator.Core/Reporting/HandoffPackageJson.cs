using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Orchestrator.Core.Journal;

namespace Orchestrator.Core.Reporting;

/// <summary>
/// The JSON form of a <see cref="HandoffPackage"/> (<c>reports/&lt;runId&gt;.json</c>): indented, camelCase,
/// enums as camelCase strings, with the members <c>run</c>, <c>steps</c>, <c>data</c>, <c>title</c> and <c>qa</c>.
/// The template path is not part of it: it is a local detail of the machine the run happened on. <c>qa</c> is
/// derived from the steps, so reading a package derives it again rather than trusting the file.
/// </summary>
internal static class HandoffPackageJson
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    public static string Serialize(HandoffPackage package)
    {
        ArgumentNullException.ThrowIfNull(package);
        var document = new PackageDocument(package.Run, package.Steps, package.Data, package.Title, package.Qa);
        return JsonSerializer.Serialize(document, Options);
    }

    /// <summary>Reads a package written by <see cref="Serialize"/>; its template path is null.</summary>
    public static HandoffPackage Deserialize(string json)
    {
        var document = JsonSerializer.Deserialize<PackageDocument>(json, Options)
            ?? throw new JsonException("a handoff package must be a JSON object, not null");
        var run = document.Run ?? throw new JsonException("a handoff package needs a 'run'");
        return new HandoffPackage(run, document.Steps ?? [], document.Data, null, document.Title);
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

    internal sealed record PackageDocument(RunRecord? Run, IReadOnlyList<StepRecord>? Steps, JsonNode? Data, string? Title, IReadOnlyList<QaCheckResult>? Qa);
}

[JsonSerializable(typeof(HandoffPackageJson.PackageDocument))]
internal sealed partial class PackageJsonContext : JsonSerializerContext;
