using System.Text.Json.Nodes;

namespace Orchestrator.Core.Workflow;

/// <summary>Resolves a key that two parallel branches set to different values.</summary>
/// <param name="key">The key's path, dotted for nested objects (<c>build.version</c>).</param>
/// <param name="current">The value merged so far (from earlier branches, in declaration order).</param>
/// <param name="incoming">The value from the branch being merged.</param>
public delegate Task<JsonNode?> ConflictResolver(string key, JsonNode? current, JsonNode? incoming);

/// <summary>How a parallel step turns its branches' outcomes into one result.</summary>
public abstract class MergePolicy
{
    private protected MergePolicy()
    {
    }

    /// <summary>Every branch must succeed (the first failure cancels the rest); the result maps branch name to output.</summary>
    public static MergePolicy AllMustSucceed { get; } = new AllMustSucceedPolicy();

    /// <summary>The first branch to succeed wins and the others are cancelled; fails only if every branch fails.</summary>
    public static MergePolicy FirstSuccess { get; } = new FirstSuccessPolicy();

    /// <summary>Waits for every branch and never fails; the result maps branch name to <c>{ ok, output | error }</c>.</summary>
    public static MergePolicy CollectAll { get; } = new CollectAllPolicy();

    /// <summary>Every branch must succeed; their object outputs are merged key by key, and <paramref name="onConflict"/> decides keys set differently.</summary>
    public static MergePolicy Combine(ConflictResolver onConflict) => new CombinePolicy(onConflict);

    /// <summary>The policy's name as scripts and the journal spell it.</summary>
    public abstract string Name { get; }

    /// <summary>Whether the first success cancels the other branches.</summary>
    internal virtual bool StopsAtFirstSuccess => false;

    /// <summary>Whether the first failure cancels the other branches.</summary>
    internal virtual bool StopsAtFirstFailure => true;

    internal abstract Task<JsonNode?> MergeAsync(IReadOnlyList<BranchOutcome> outcomes);

    /// <summary>Looks a policy up by the name scripts use: allMustSucceed, firstSuccess, collectAll.</summary>
    public static MergePolicy Parse(string name) => name.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant() switch
    {
        "allmustsucceed" or "all" => AllMustSucceed,
        "firstsuccess" or "first" => FirstSuccess,
        "collectall" or "collect" => CollectAll,
        _ => throw new ArgumentException($"unknown merge policy '{name}'; use allMustSucceed, firstSuccess, collectAll or a conflict function", nameof(name)),
    };

    private protected static MergeFailedException BranchesFailed(IEnumerable<BranchOutcome> failed) =>
        new("branches failed: " + string.Join("; ", failed.Select(f => $"{f.Name}: {Describe(f.Error!)}")));

    private static string Describe(Exception error) => error is StepFailedException s ? s.Reason : error.Message;

    private sealed class AllMustSucceedPolicy : MergePolicy
    {
        public override string Name => "allMustSucceed";

        internal override Task<JsonNode?> MergeAsync(IReadOnlyList<BranchOutcome> outcomes)
        {
            ThrowIfAnyFailed(outcomes);
            var result = new JsonObject();
            foreach (var o in outcomes.Where(o => !o.Dropped))
            {
                result[o.Name] = o.Output?.DeepClone();
            }

            return Task.FromResult<JsonNode?>(result);
        }
    }

    private sealed class FirstSuccessPolicy : MergePolicy
    {
        public override string Name => "firstSuccess";

        internal override bool StopsAtFirstSuccess => true;

        internal override bool StopsAtFirstFailure => false;

        internal override Task<JsonNode?> MergeAsync(IReadOnlyList<BranchOutcome> outcomes)
        {
            // Outcomes arrive in completion order, so the first success is the winner.
            foreach (var o in outcomes)
            {
                if (o.Succeeded)
                {
                    return Task.FromResult(o.Output?.DeepClone());
                }
            }

            throw BranchesFailed(outcomes.Where(o => !o.Dropped));
        }
    }

    private sealed class CollectAllPolicy : MergePolicy
    {
        public override string Name => "collectAll";

        internal override bool StopsAtFirstFailure => false;

        internal override Task<JsonNode?> MergeAsync(IReadOnlyList<BranchOutcome> outcomes)
        {
            var result = new JsonObject();
            foreach (var o in outcomes)
            {
                result[o.Name] = o switch
                {
                    { Succeeded: true } => new JsonObject { ["ok"] = true, ["output"] = o.Output?.DeepClone() },
                    { Dropped: true } => new JsonObject { ["ok"] = false, ["dropped"] = true },
                    _ => new JsonObject { ["ok"] = false, ["error"] = Describe(o.Error!) },
                };
            }

            return Task.FromResult<JsonNode?>(result);
        }
    }

    private sealed class CombinePolicy(ConflictResolver onConflict) : MergePolicy
    {
        public override string Name => "combine";

        internal override async Task<JsonNode?> MergeAsync(IReadOnlyList<BranchOutcome> outcomes)
        {
            ThrowIfAnyFailed(outcomes);
            var result = new JsonObject();
            foreach (var o in outcomes.Where(o => !o.Dropped))
            {
                // A branch that returns a non-object contributes it under its own name.
                var contribution = o.Output as JsonObject ?? new JsonObject { [o.Name] = o.Output?.DeepClone() };
                await MergeIntoAsync(result, contribution, prefix: null);
            }

            return result;
        }

        private async Task MergeIntoAsync(JsonObject target, JsonObject source, string? prefix)
        {
            foreach (var (key, incoming) in source.ToList())
            {
                var path = prefix is null ? key : prefix + "." + key;
                if (!target.TryGetPropertyValue(key, out var current))
                {
                    target[key] = incoming?.DeepClone();
                }
                else if (current is JsonObject currentObject && incoming is JsonObject incomingObject)
                {
                    await MergeIntoAsync(currentObject, incomingObject, path);
                }
                else if (!JsonNode.DeepEquals(current, incoming))
                {
                    var resolved = await onConflict(path, current?.DeepClone(), incoming?.DeepClone());
                    target[key] = resolved?.DeepClone();
                }
            }
        }
    }

    private protected static void ThrowIfAnyFailed(IReadOnlyList<BranchOutcome> outcomes)
    {
        // Branches cancelled because a sibling failed are noise next to the real failure.
        var failed = outcomes.Where(o => o.Error is not null and not OperationCanceledException).ToList();
        if (failed.Count == 0)
        {
            failed = outcomes.Where(o => o.Error is not null).ToList();
        }

        if (failed.Count > 0)
        {
            throw BranchesFailed(failed);
        }
    }
}
