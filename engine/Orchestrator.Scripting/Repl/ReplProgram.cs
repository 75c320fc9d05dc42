using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Scripting.JavaScript;
using Serilog;

namespace Orchestrator.Scripting.Repl;

/// <summary>
/// A REPL session as a workflow program: the engine opens a run for it, journals every step its submissions
/// take, and closes the run (with its report) when the session ends, exactly as for a script.
/// </summary>
internal sealed class ReplProgram : IWorkflowProgram
{
    private readonly ReplSession _session;
    private readonly string _directory;
    private readonly JavaScriptWorkflow? _javaScript;
    private readonly ILogger _log;

    public ReplProgram(ReplSession session, bool javaScript, string directory, JavaScriptOptions javaScriptOptions, ILogger log)
    {
        _session = session;
        _directory = directory;
        _log = log;
        _javaScript = javaScript ? JavaScriptWorkflow.ForSession(ReplSession.SourceName, javaScriptOptions, log) : null;
        Language = javaScript ? "javascript" : "csharp";
        ScriptHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("repl:" + Language)));
    }

    /// <summary>Where <c>#r "nuget: …"</c> packages go: the store's cache, as for workflows; NuGet's global packages folder when null.</summary>
    public string? PackagesFolder { get; init; }

    public string ScriptPath => ReplSession.SourceName;

    public string Language { get; }

    public string ScriptHash { get; }

    public async Task<JsonNode?> ExecuteAsync(WorkflowScope root, CancellationToken cancellationToken)
    {
        if (_javaScript is not null)
        {
            return await new JavaScriptRun(_javaScript, root, _session, cancellationToken).RunAsync().ConfigureAwait(false);
        }

        var globals = new WorkflowGlobals(root, _directory, _log, cancellationToken);
        await _session.RunAsync(new CSharpRepl(globals, _directory, PackagesFolder ?? Packages.PackageRestorer.DefaultFolder(_directory)), root, cancellationToken).ConfigureAwait(false);
        return null;
    }

    public string DescribeFailure(Exception error) =>
        _javaScript?.DescribeFailure(error) ?? ScriptFailure.Describe(error, ScriptPath);
}
