using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Orchestrator.Scripting.Packages;

/// <summary>
/// <c>#r "nuget: Name, Version"</c> in C# scripts. Roslyn lets one <c>#r</c> resolve to one reference only, so (as
/// dotnet-script does) the resolver answers a package directive with a reference the script has anyway, and
/// <see cref="AddPackages"/> restores the packages of every directive in the compilation (the script's and its
/// <c>#load</c>ed files') and adds their assemblies. Any other <c>#r</c> goes to Roslyn's own resolver.
/// </summary>
internal sealed class PackageReferenceResolver(MetadataReferenceResolver inner) : MetadataReferenceResolver
{
    // The engine's scripting assembly: every script references it already, so answering with it adds nothing.
    private static readonly string Placeholder = typeof(PackageReferenceResolver).Assembly.Location;

    public override bool ResolveMissingAssemblies => inner.ResolveMissingAssemblies;

    public override ImmutableArray<PortableExecutableReference> ResolveReference(string reference, string? baseFilePath, MetadataReferenceProperties properties) =>
        PackageDirective.IsPackage(reference)
            ? [MetadataReference.CreateFromFile(Placeholder, properties)]
            : inner.ResolveReference(reference, baseFilePath, properties);

    public override PortableExecutableReference? ResolveMissingAssembly(MetadataReference definition, AssemblyIdentity referenceIdentity) =>
        inner.ResolveMissingAssembly(definition, referenceIdentity);

    public override bool Equals(object? other) => other is PackageReferenceResolver resolver && resolver.Inner.Equals(inner);

    public override int GetHashCode() => inner.GetHashCode();

    private MetadataReferenceResolver Inner => inner;

    /// <summary>
    /// <paramref name="compilation"/> with the assemblies of every package its <c>#r "nuget: …"</c> directives name,
    /// restored into <paramref name="packagesFolder"/>; throws <see cref="ScriptCompilationException"/> with one line
    /// (<c>file(line,col): error: …</c>) for a directive that is malformed or a package that cannot be restored.
    /// </summary>
    public static Compilation AddPackages(Compilation compilation, string packagesFolder, CancellationToken cancellationToken)
    {
        var assemblies = Restore(compilation.SyntaxTrees, packagesFolder, cancellationToken);
        return assemblies.Count == 0 ? compilation : compilation.AddReferences(assemblies.Select(path => MetadataReference.CreateFromFile(path)));
    }

    /// <summary>The assemblies of the packages that the <c>#r "nuget: …"</c> directives of <paramref name="trees"/> name, restored; see <see cref="AddPackages"/>.</summary>
    public static IReadOnlyList<string> Restore(IEnumerable<SyntaxTree> trees, string packagesFolder, CancellationToken cancellationToken)
    {
        var assemblies = new List<string>();
        foreach (var tree in trees)
        {
            foreach (var directive in tree.GetCompilationUnitRoot(cancellationToken).GetReferenceDirectives())
            {
                var reference = directive.File.ValueText;
                if (!PackageDirective.IsPackage(reference))
                {
                    continue;
                }

                var line = directive.GetLocation().GetLineSpan();
                var where = $"{tree.FilePath}({line.StartLinePosition.Line + 1},{line.StartLinePosition.Character + 1})";
                try
                {
                    var package = PackageDirective.Parse(reference, out var error);
                    if (error is not null)
                    {
                        throw new PackageRestoreException(error);
                    }

                    var restorer = new PackageRestorer(packagesFolder, Path.GetDirectoryName(tree.FilePath) is { Length: > 0 } folder ? folder : Directory.GetCurrentDirectory());
                    assemblies.AddRange(restorer.RestoreAsync(package, cancellationToken).GetAwaiter().GetResult());
                }
                catch (PackageRestoreException ex)
                {
                    throw new ScriptCompilationException($"{where}: error: #r \"{reference}\": {ex.Message}");
                }
            }
        }

        return [.. assemblies.Distinct(StringComparer.Ordinal)];
    }
}
