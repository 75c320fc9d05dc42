using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Runs;

/// <summary>Where a run manager gets a script's compiled program; a host keeps them warm.</summary>
internal interface IProgramSource
{
    /// <summary>The compiled program of <paramref name="scriptPath"/> as the file is now; throws when it does not compile.</summary>
    IWorkflowProgram Get(string scriptPath, CancellationToken cancellationToken);
}
