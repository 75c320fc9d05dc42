using Orchestrator.Abstractions;

namespace MyPlugin;

/// <summary>
/// A recovery strategy. Scripts put it in a chain by its name: <c>recovery: Recovery("myplugin", new { attempts = 2 })</c>
/// in C#, <c>{ recovery: [{ strategy: "myplugin", attempts: 2 }] }</c> in JavaScript. This one runs the failed task
/// again on the same agent kind, up to <c>attempts</c> times (default 1), each attempt journaled under the failed step.
/// </summary>
public sealed class MyPluginStrategy : IRecoveryStrategy
{
    public string Name => "myplugin";

    public async ValueTask<AgentResult?> TryRecoverAsync(RecoveryContext context, CancellationToken cancellationToken)
    {
        var attempts = context.Options?["attempts"]?.GetValue<int>() ?? 1;
        var last = context.Failure;
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            last = await context.RunAgent(context.AgentKind, context.Task with { Attempt = context.Task.Attempt + attempt }, cancellationToken);
            if (last.Success)
            {
                return last;
            }
        }

        // A failed result says why; null would mean "this strategy does not apply", and the chain moves on either way.
        return AgentResult.Fail($"myplugin: {attempts} more attempt(s) failed; last: {last.Error}", last.Output, last.Severity);
    }
}
