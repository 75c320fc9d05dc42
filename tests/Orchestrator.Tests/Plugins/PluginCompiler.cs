using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Orchestrator.Abstractions;

namespace Orchestrator.Tests.Plugins;

/// <summary>Compiles a real plugin assembly from source in a test, against the framework and the plugin contract.</summary>
internal static class PluginCompiler
{
    public static byte[] Compile(string assemblyName, string source, params MetadataReference[] more) =>
        CompileAgainst(MetadataReference.CreateFromFile(typeof(IAgent).Assembly.Location), assemblyName, [source], more);

    /// <summary>
    /// The plugin contract as another version of it: the contract's own source compiled with <paramref name="version"/>
    /// as its assembly version, for plugins "built against" an older or newer contract.
    /// </summary>
    public static MetadataReference Contract(string version)
    {
        var sources = Directory.EnumerateFiles(Path.Combine(Support.RepoPaths.Root, "engine", "Orchestrator.Abstractions"), "*.cs")
            .Select(File.ReadAllText)
            .Append($"[assembly: System.Reflection.AssemblyVersion(\"{version}\")]")
            .Append("global using System; global using System.Collections.Generic; global using System.Linq; global using System.Threading; global using System.Threading.Tasks;");
        var image = CompileAgainst(null, "Orchestrator.Abstractions", sources, []);
        return MetadataReference.CreateFromImage(image);
    }

    public static byte[] CompileAgainst(MetadataReference? contract, string assemblyName, IEnumerable<string> sources, MetadataReference[] more)
    {
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll")
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .Concat(contract is null ? [] : [contract])
            .Concat(more);
        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable);
        var compilation = CSharpCompilation.Create(assemblyName, sources.Select(s => CSharpSyntaxTree.ParseText(s)), references, options);
        using var dll = new MemoryStream();
        var emitted = compilation.Emit(dll);
        emitted.Success.Should().BeTrue(string.Join("\n", emitted.Diagnostics));
        return dll.ToArray();
    }
}
