using System.Collections.Immutable;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.CodeAnalysis.Scripting;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CompileCache;
using Orchestrator.Scripting.Packages;

namespace Orchestrator.Scripting.CSharp;

/// <summary>
/// The one place that touches Roslyn: compiles a .csx to an assembly and its portable PDB. Nothing of Roslyn
/// crosses its surface, so a host that finds the script in the compile cache never loads the compiler.
/// </summary>
internal static class CSharpCompiler
{
    internal static readonly string[] Imports =
    [
        "System", "System.IO", "System.Linq", "System.Collections.Generic", "System.Threading", "System.Threading.Tasks",
        "System.Text.Json", "System.Text.Json.Nodes", "Orchestrator.Abstractions", "Orchestrator.Core.Workflow", "Orchestrator.Scripting.CSharp",
    ];

    /// <summary>
    /// The references, imports and resolvers every C# script gets, the REPL's included; paths resolve from
    /// <paramref name="directory"/>; <c>#r "nuget: …"</c> directives are answered here and restored by
    /// <see cref="PackageReferenceResolver.AddPackages"/>.
    /// </summary>
    internal static ScriptOptions DefaultOptions(string directory) =>
        ScriptOptions.Default
            .WithFileEncoding(Encoding.UTF8)
            .WithEmitDebugInformation(true)
            .WithOptimizationLevel(OptimizationLevel.Debug)
            .WithReferences(
                typeof(object).Assembly,
                typeof(Enumerable).Assembly,
                typeof(JsonNode).Assembly,
                typeof(System.Text.Json.JsonSerializer).Assembly,
                typeof(WorkflowScope).Assembly,
                typeof(Orchestrator.Abstractions.Severity).Assembly,
                typeof(WorkflowGlobals).Assembly,
                typeof(System.Collections.Generic.List<>).Assembly,
                Assembly.Load("System.Runtime"),
                Assembly.Load("System.Collections"))
            .WithImports(Imports)
            .WithSourceResolver(new SourceFileResolver(ImmutableArray<string>.Empty, directory))
            .WithMetadataResolver(new PackageReferenceResolver(ScriptMetadataResolver.Default.WithBaseDirectory(directory)));

    /// <summary>Compiles <paramref name="source"/> (the text of <paramref name="path"/>); throws <see cref="ScriptCompilationException"/> listing every error as <c>file(line,col): error CSxxxx: …</c>.</summary>
    public static CompiledScript Compile(string path, string source, string? packagesFolder, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(path)!;
        var options = DefaultOptions(directory).WithFilePath(path);

        var compilation = PackageReferenceResolver.AddPackages(
            CSharpScript.Create<object>(source, options, typeof(WorkflowGlobals)).GetCompilation(),
            packagesFolder ?? PackageRestorer.DefaultFolder(directory),
            cancellationToken);
        ThrowOnErrors(compilation.GetDiagnostics(cancellationToken));

        using var pe = new MemoryStream();
        using var pdb = new MemoryStream();
        var emitted = compilation.Emit(pe, pdb, options: new EmitOptions(debugInformationFormat: DebugInformationFormat.PortablePdb), cancellationToken: cancellationToken);
        ThrowOnErrors(emitted.Diagnostics);

        var entry = compilation.GetEntryPoint(cancellationToken)
            ?? throw new InvalidOperationException($"{path}: the compiled script has no entry point");

        // #load'ed files are syntax trees of the compilation; they belong to the cache key like the script itself.
        var loaded = compilation.SyntaxTrees
            .Select(t => t.FilePath)
            .Where(p => !string.IsNullOrEmpty(p) && !string.Equals(p, path, StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var references = compilation.References
            .OfType<PortableExecutableReference>()
            .Where(r => r.FilePath is not null)
            .Select(r => r.FilePath!)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        return new CompiledScript(pe.ToArray(), pdb.ToArray(), entry.ContainingType.MetadataName, entry.MetadataName, loaded, references);
    }

    private static void ThrowOnErrors(ImmutableArray<Diagnostic> diagnostics)
    {
        var errors = diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0)
        {
            throw new ScriptCompilationException(string.Join(Environment.NewLine, errors.Select(e => e.ToString())));
        }
    }
}
