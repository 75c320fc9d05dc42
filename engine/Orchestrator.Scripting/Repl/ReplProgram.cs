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
            await new JavaScriptRun(_javaScript, root, _session, cancellationToken).RunAsync().ConfigureAwait(false);
            return Outcome(_session);
        }

        var globals = new WorkflowGlobals(root, _directory, _log, cancellationToken);
        await _session.RunAsync(new CSharpRepl(globals, _directory, PackagesFolder ?? Packages.PackageRestorer.DefaultFolder(_directory)), root, cancellationToken).ConfigureAwait(false);
        return Outcome(_session);
    }

    /// <summary>The session's own result: it failed if any of its submissions did, as a script with a failed step would.</summary>
    internal static JsonNode? Outcome(ReplSession session)
    {
        var (run, failed) = session.Submissions;
        return failed == 0 ? null : throw new ReplSessionFailedException($"{failed} of {run} submissions failed");
    }

    public string DescribeFailure(Exception error) =>
        error is ReplSessionFailedException ? error.Message : _javaScript?.DescribeFailure(error) ?? ScriptFailure.Describe(error, ScriptPath);
}

/// <summary>A session in which some submissions failed: its run ends failed, saying how many.</summary>
internal sealed class ReplSessionFailedException(string message) : Exception(message);
