using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Bench.Micro;

/// <summary>Merging the outcomes of eight parallel branches, plain and key by key with a conflict function.</summary>
[MemoryDiagnoser]
public class MergeBenchmarks
{
    private readonly List<BranchOutcome> _outcomes = [.. Enumerable.Range(0, 8).Select(i => new BranchOutcome(
        "branch" + i,
        new JsonObject { ["shared"] = i, ["own" + i] = new JsonObject { ["value"] = i, ["tags"] = new JsonArray("a", "b") }, ["nested"] = new JsonObject { ["n" + i] = i } },
        null))];

    private readonly MergePolicy _combine = MergePolicy.Combine((_, current, incoming) => Task.FromResult(incoming ?? current));

    [Benchmark]
    public Task<JsonNode?> AllMustSucceed() => MergePolicy.AllMustSucceed.MergeAsync(_outcomes);

    [Benchmark]
    public Task<JsonNode?> CombineWithConflicts() => _combine.MergeAsync(_outcomes);
}
