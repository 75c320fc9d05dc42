using System.Runtime.CompilerServices;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CompileCache;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Scripting.JavaScript;
using Serilog;

namespace Orchestrator.Scripting;

/// <summary>Picks the front end for a workflow script by its extension and compiles it.</summary>
internal static class WorkflowScripts
{
    public static IReadOnlyList<string> Extensions { get; } = [".csx", ".js"];

    /// <summary>
    /// Compiles <paramref name="path"/>, a .csx through <paramref name="cache"/> when given; throws
    /// <see cref="ScriptCompilationException"/> naming file, line and column on errors.
    /// </summary>
    public static IWorkflowProgram Compile(string path, JavaScriptOptions javaScript, ILogger log, ScriptCompileCache? cache = null, CancellationToken cancellationToken = default)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        return extension switch
        {
            ".csx" => CSharpWorkflow.Load(path, cache, log, cancellationToken),
            ".js" => CompileJavaScript(path, javaScript, log),
            _ => throw new ScriptCompilationException($"{path}: unknown script type '{extension}'; use .csx or .js"),
        };
    }

    /// <summary>
    /// Warms up what the first steps of a script at <paramref name="path"/> will need (for a .csx, the serializer its
    /// step inputs go through), for a host with a core to spare while it opens the store and compiles. Nothing a run
    /// depends on: a host that never calls it loses only time.
    /// </summary>
    public static void Prepare(string path)
    {
        if (Path.GetExtension(path).Equals(".csx", StringComparison.OrdinalIgnoreCase))
        {
            WorkflowGlobals.Prepare();
        }
    }

    // Out of line: the JavaScript front end's types hold Jint structs, and a .csx run should not load Jint.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IWorkflowProgram CompileJavaScript(string path, JavaScriptOptions javaScript, ILogger log) =>
        JavaScriptWorkflow.Compile(path, javaScript, log);
}
