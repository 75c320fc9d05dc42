using System.Text.Json.Nodes;

namespace Orchestrator.Core.Workflow;

/// <summary>A compiled workflow script, whatever its language.</summary>
internal interface IWorkflowProgram
{
    /// <summary>The script's full path.</summary>
    string ScriptPath { get; }

    /// <summary><c>csharp</c> or <c>javascript</c>.</summary>
    string Language { get; }

    /// <summary>SHA-256 of the script's text, pinning a run to the script it started with.</summary>
    string ScriptHash { get; }

    /// <summary>Runs the script against <paramref name="root"/>; its return value is the run's result.</summary>
    Task<JsonNode?> ExecuteAsync(WorkflowScope root, CancellationToken cancellationToken);

    /// <summary>Describes a failure that escaped the script, naming the script file and line where there is one.</summary>
    string DescribeFailure(Exception error);
}
