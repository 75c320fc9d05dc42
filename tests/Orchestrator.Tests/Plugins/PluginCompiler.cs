using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Orchestrator.Abstractions;

namespace Orchestrator.Tests.Plugins;

/// <summary>Compiles a real plugin assembly from source in a test, against the framework and the plugin contract.</summary>
internal static class PluginCompiler
{
    public static byte[] Compile(string assemblyName, string source, params MetadataReference[] more)
    {
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll")
            .Append(typeof(IAgent).Assembly.Location)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .Concat(more);
        var compilation = CSharpCompilation.Create(assemblyName, [CSharpSyntaxTree.ParseText(source)], references, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        using var dll = new MemoryStream();
        var emitted = compilation.Emit(dll);
        emitted.Success.Should().BeTrue(string.Join("\n", emitted.Diagnostics));
        return dll.ToArray();
    }
}
