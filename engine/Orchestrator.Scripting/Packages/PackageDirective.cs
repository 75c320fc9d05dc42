using NuGet.Versioning;

namespace Orchestrator.Scripting.Packages;

/// <summary>
/// <c>#r "nuget: Name, Version"</c> as dotnet-script and Cake write it: a package id and a version or range
/// (<c>2.14.1</c> means that version or the lowest above it, as in a project file; <c>[2.0,3.0)</c> and <c>2.*</c> work too).
/// </summary>
internal sealed record PackageDirective(string Id, VersionRange Range)
{
    private const string Prefix = "nuget:";

    public static bool IsPackage(string reference) => reference.TrimStart().StartsWith(Prefix, StringComparison.OrdinalIgnoreCase);

    /// <summary>The directive, or an error message saying what is wrong with it.</summary>
    public static PackageDirective Parse(string reference, out string? error)
    {
        error = null;
        var text = reference.TrimStart()[Prefix.Length..].Trim();
        var comma = text.IndexOf(',', StringComparison.Ordinal);
        var id = (comma < 0 ? text : text[..comma]).Trim();
        var version = comma < 0 ? "" : text[(comma + 1)..].Trim();
        if (id.Length == 0 || id.Any(char.IsWhiteSpace))
        {
            error = $"'{reference}' names no package; write #r \"nuget: Name, Version\"";
            return new PackageDirective("", VersionRange.All);
        }

        if (version.Length == 0)
        {
            // As dotnet-script: a version is required, or a run would change whenever a new one is published.
            error = $"'{reference}' has no version; write #r \"nuget: {id}, 1.2.3\" (or a range such as [1.0,2.0) or 1.*)";
            return new PackageDirective(id, VersionRange.All);
        }

        if (!VersionRange.TryParse(version, out var range))
        {
            error = $"'{reference}': '{version}' is not a version or version range";
            return new PackageDirective(id, VersionRange.All);
        }

        return new PackageDirective(id, range);
    }

    public override string ToString() => $"{Id} {Range.OriginalString ?? Range.ToNormalizedString()}";
}
