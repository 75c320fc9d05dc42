using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Scripting.JavaScript;
using Serilog;

namespace Orchestrator.Scripting;

/// <summary>Picks the front end for a workflow script by its extension and compiles it.</summary>
internal static class WorkflowScripts
{
    public static IReadOnlyList<string> Extensions { get; } = [".csx", ".js"];

    /// <summary>Compiles <paramref name="path"/>; throws <see cref="ScriptCompilationException"/> naming file, line and column on errors.</summary>
    public static IWorkflowProgram Compile(string path, JavaScriptOptions javaScript, ILogger log, CancellationToken cancellationToken = default)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        return extension switch
        {
            ".csx" => CSharpWorkflow.Compile(path, log, cancellationToken),
            ".js" => JavaScriptWorkflow.Compile(path, javaScript, log),
            _ => throw new ScriptCompilationException($"{path}: unknown script type '{extension}'; use .csx or .js"),
        };
    }
}
