using System.Reflection;
using System.Runtime.Loader;

namespace Orchestrator.Scripting.CSharp;

/// <summary>
/// A collectible context for one compiled script. The engine and the framework resolve from the
/// default context (so the script shares the DSL types with the host); assemblies the script pulled
/// in with <c>#r</c> load here, from the paths the compiler resolved.
/// </summary>
internal sealed class ScriptLoadContext(string name, IEnumerable<string> referencePaths) : AssemblyLoadContext("script:" + name, isCollectible: true)
{
    private readonly Dictionary<string, string> _paths = referencePaths
        .GroupBy(p => Path.GetFileNameWithoutExtension(p), StringComparer.OrdinalIgnoreCase)
        .ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (Default.Assemblies.Any(a => AssemblyName.ReferenceMatchesDefinition(assemblyName, a.GetName())))
        {
            return null;
        }

        return assemblyName.Name is { } simple && _paths.TryGetValue(simple, out var path) && !IsFrameworkOrHost(path)
            ? LoadFromAssemblyPath(path)
            : null;
    }

    private static bool IsFrameworkOrHost(string path) =>
        path.StartsWith(Path.GetDirectoryName(typeof(object).Assembly.Location)!, StringComparison.Ordinal) ||
        path.StartsWith(AppContext.BaseDirectory, StringComparison.Ordinal);
}
