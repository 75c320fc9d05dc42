using System.Text.Json.Nodes;
using Orchestrator.Core.Waits;

namespace Orchestrator.Cli.Commands.Waits;

/// <summary>What a waiting run tells the person at the terminal: what it waits for and the command that ends the wait.</summary>
internal static class WaitHints
{
    public static IEnumerable<string> Lines(WaitRecord wait)
    {
        yield return "waiting for " + WaitKinds.Describe(wait);
        switch (wait.Kind)
        {
            case WaitKinds.Approval:
                if (wait.Data is not null)
                {
                    yield return "asked with: " + wait.Data.ToJsonString();
                }

                yield return $"decide with: orchestrator approve {wait.RunId} {wait.Name}   (or --reject; --resume to continue at once)";
                break;
            case WaitKinds.Event:
                yield return $"send it with: orchestrator signal {wait.RunId} {wait.Name} --data '<json>'";
                yield return $"then continue with: orchestrator resume {wait.RunId}";
                break;
            default:
                yield return $"continue after {WaitKinds.Timestamp(wait.DueAt)} with: orchestrator resume {wait.RunId}   (a running host does it on time)";
                break;
        }
    }

    public static JsonObject ToJson(WaitRecord wait) => new()
    {
        ["kind"] = wait.Kind,
        ["name"] = wait.Name,
        ["stepId"] = wait.StepId,
        ["data"] = wait.Data?.DeepClone(),
        ["dueAt"] = wait.DueAt is null ? null : WaitKinds.Timestamp(wait.DueAt),
    };
}
