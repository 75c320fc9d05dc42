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

    /// <summary>
    /// Warms up, on the caller's thread, what the script's first steps will need (a serializer, say), for a host with
    /// a core to spare while the run starts. Nothing the run depends on: a host that never calls it loses only time.
    /// </summary>
    void Prepare()
    {
    }

    /// <summary>Describes a failure that escaped the script, naming the script file and line where there is one.</summary>
    string DescribeFailure(Exception error);
}
