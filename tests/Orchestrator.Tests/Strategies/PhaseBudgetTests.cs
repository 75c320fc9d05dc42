using System.Net;
using System.Text.Json.Nodes;
using FluentAssertions;
using Orchestrator.Agents.Tests;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Verbs;
using Orchestrator.Tests.JavaScript;
using Orchestrator.Tests.Support;
using Xunit;

namespace Orchestrator.Tests.Strategies;

/// <summary>
/// A phase's own budget (<c>budget</c>, <c>overBudget</c>): the standard <c>llm</c> agent's reported tokens, against an
/// OpenAI-compatible server on loopback, spend it; the phase's further calls are then refused by severity while a phase
/// with room goes on, the Goals section shows each phase's figure, and a resumed run counts what it spent before.
/// </summary>
public sealed class PhaseBudgetTests : IDisposable
{
    // Every answer reports 400 tokens: a phase of budget 700 is over it after its second call.
    private const int TokensPerCall = 400;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Store => Path.Combine(_dir.Path, "store");

    private const string DraftAndReviewJs = """
        const ask = (topic) => ({ prompt: topic, endpoint: input.endpoint, model: "tiny" });
        let drafted;
        try {
          drafted = await phase("draft", ["a", "b", "c", "d"].map(ask), {
            strategies: [{ name: "chat", agent: "llm" }], budget: 700, overBudget: "SEVERITY" });
        } catch (e) {
          drafted = "failed";
        }
        const reviewed = await phase("review", ["x", "y"].map(ask), { strategies: [{ name: "chat", agent: "llm" }], budget: 1000 });
        return { drafted, reviewed: reviewed.map((r) => r.usage.totalTokens) };
        """;

    private const string DraftAndReviewCsx = """
        object Ask(string topic) => new { prompt = topic, endpoint = (string)Input!["endpoint"]!, model = "tiny" };
        JsonNode? drafted;
        try
        {
            drafted = await Phase("draft", new[] { "a", "b", "c", "d" }.Select(Ask).ToArray(), new[] { Strategy("chat", agent: "llm") },
                budget: 700, overBudget: "SEVERITY");
        }
        catch (Exception)
        {
            drafted = "failed";
        }

        var reviewed = await Phase("review", new[] { "x", "y" }.Select(Ask).ToArray(), new[] { Strategy("chat", agent: "llm") }, budget: 1000);
        return new { drafted, reviewed = reviewed!.AsArray().Select(r => (long)r!["usage"]!["totalTokens"]!).ToArray() };
        """;

    [Theory]
    [InlineData("js", "critical")]
    [InlineData("js", "moderate")]
    [InlineData("csx", "critical")]
    [InlineData("csx", "moderate")]
    public async Task A_phase_over_its_budget_fails_or_degrades_by_severity_while_a_phase_with_room_goes_on(string language, string severity)
    {
        await using var model = new LoopbackServer((ctx, seen) => Answer(ctx, seen));
        var script = _dir.Write($"draft-{severity}.{language}", (language == "js" ? DraftAndReviewJs : DraftAndReviewCsx).Replace("SEVERITY", severity, StringComparison.Ordinal));

        var result = await RunAsync("run", script, model);

        result.ExitCode.Should().Be(0, result.ToString());
        var output = JsonNode.Parse(result.LastLine)!;
        var outcome = output["result"]!;
        outcome["reviewed"]!.ToJsonString().Should().Be("[400,400]", "the review phase had room and ran both its items");
        model.Seen.Select(Prompt).Should().Equal(["a", "b", "x", "y"], "once the draft phase's agents reported 800 of its 700, its further calls were refused");

        var steps = await StepsAsync(output["runId"]!.GetValue<string>());
        var refused = steps.Single(s => s.Id == "draft/item-2");
        refused.Error.Should().Contain("the budget of phase 'draft' (700) is spent: its agents reported 800");
        if (severity == "critical")
        {
            outcome["drafted"]!.GetValue<string>().Should().Be("failed");
            refused.Status.Should().Be(RunStatus.Failed);
            steps.Single(s => s.Id == "draft").Status.Should().Be(RunStatus.Failed);
            steps.Should().NotContain(s => s.Id == "draft/item-3", "a critical refusal fails the phase at its first refused item");
        }
        else
        {
            refused.Status.Should().Be(RunStatus.Degraded);
            steps.Single(s => s.Id == "draft/item-3").Status.Should().Be(RunStatus.Degraded, "the degraded phase went on, and its next call was refused too");
            var draft = steps.Single(s => s.Id == "draft");
            draft.Status.Should().Be(RunStatus.Degraded);
            draft.Error.Should().Contain("2 of 4 items failed");
            outcome["drafted"]!.AsArray().Take(2).Select(r => r!["usage"]!["totalTokens"]!.GetValue<int>()).Should().Equal(400, 400);
        }

        var checks = GoalChecks(steps);
        (checks["draft"]["met"]!.GetValue<bool>(), checks["draft"]["actual"]!.GetValue<double>(), checks["draft"]["target"]!.GetValue<double>()).Should().Be((false, 800.0, 700.0));
        (checks["review"]["met"]!.GetValue<bool>(), checks["review"]["actual"]!.GetValue<double>()).Should().Be((true, 800.0));
        var report = await File.ReadAllTextAsync(output["report"]!.GetValue<string>());
        report.Should().Contain("## Goals").And.Contain("Not every goal was met");
        report.Should().Contain("| phase budget | 700 | 800 | **no** | phase 'draft': its agents reported 800 in cost |");
        report.Should().Contain("| phase budget | 1000 | 800 | yes | phase 'review': its agents reported 800 in cost |");
    }

    [Theory]
    [InlineData("js", """
        const ask = (topic) => ({ prompt: topic, endpoint: input.endpoint, model: "tiny" });
        return await phase("draft", ["a", "b", "c", "d"].map(ask), {
          strategies: [{ name: "chat", agent: "llm" }], budget: 1000, overBudget: "moderate" });
        """)]
    [InlineData("csx", """
        object Ask(string topic) => new { prompt = topic, endpoint = (string)Input!["endpoint"]!, model = "tiny" };
        return await Phase("draft", new[] { "a", "b", "c", "d" }.Select(Ask).ToArray(), new[] { Strategy("chat", agent: "llm") },
            budget: 1000, overBudget: "moderate");
        """)]
    public async Task A_resumed_run_counts_what_the_phase_spent_before_it_was_interrupted(string language, string source)
    {
        // The model fails item c's first request: the run fails after items a and b spent 800 of the phase's 1000.
        var failedOnce = 0;
        await using var model = new LoopbackServer((ctx, seen) => Prompt(seen) == "c" && Interlocked.Exchange(ref failedOnce, 1) == 0
            ? LoopbackServer.Respond(ctx, 500, """{"error":{"message":"overloaded"}}""", "application/json")
            : Answer(ctx, seen));
        var script = _dir.Write("resume." + language, source);
        var first = await RunAsync("run", script, model);
        first.ExitCode.Should().NotBe(0, first.ToString());
        var runId = JsonNode.Parse(first.LastLine)!["runId"]!.GetValue<string>();

        var resumed = await CliRunner.RunAsync("resume", runId, "--store", Store, "--json");

        resumed.ExitCode.Should().Be(0, resumed.ToString());
        model.Seen.Select(Prompt).Should().Equal(["a", "b", "c", "c"], "items a and b replayed, and their 800 tokens with c's 400 spent the budget before d");
        var result = JsonNode.Parse(resumed.LastLine)!["result"]!.AsArray();
        result.Take(3).Select(r => r!["usage"]!["totalTokens"]!.GetValue<int>()).Should().Equal(400, 400, 400);
        var steps = await StepsAsync(runId);
        var refused = steps.Single(s => s.Id == "draft/item-3");
        refused.Status.Should().Be(RunStatus.Degraded);
        refused.Error.Should().Contain("the budget of phase 'draft' (1000) is spent: its agents reported 1200");
        var check = GoalChecks(steps)["draft"];
        (check["met"]!.GetValue<bool>(), check["actual"]!.GetValue<double>()).Should().Be((false, 1200.0));
    }

    [Theory]
    [InlineData("budget: -5", "options.budget must be a number of at least 0, not -5")]
    [InlineData("budget: \"lots\"", "options.budget must be a number of at least 0, not \"lots\"")]
    [InlineData("overBudget: \"severe\"", "options.overBudget must be \"critical\", \"moderate\" or \"minor\", not \"severe\"")]
    public async Task A_bad_phase_budget_in_JavaScript_is_the_verb_s_one_line_error(string option, string expected)
    {
        using var js = new JsHarness();

        var run = await js.RunAsync($$"""return await phase("p", [1], { strategies: [{ name: "a", agent: "echo" }], {{option}} });""");

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().Contain($"{DslVerbs.Phase.Usage}: {expected}").And.NotContain("\n");
    }

    [Fact]
    public async Task A_bad_phase_budget_in_CSharp_is_the_verb_s_one_line_error()
    {
        var script = _dir.Write("bad.csx", """return await Phase("p", new[] { 1 }, new[] { Strategy("a", agent: "echo") }, budget: -5);""");

        var (outcome, _) = await new EngineHarness().RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Contain($"{DslVerbs.Phase.Usage}: options.budget must be a number of at least 0, not -5").And.NotContain("\n");
    }

    [Fact]
    public async Task A_critical_phase_budget_ends_the_phase_even_when_it_continues_on_failure_and_refusals_are_not_learned()
    {
        var harness = new EngineHarness(TimeProvider.System, null, [new TokenAgent(600)], []);
        var script = _dir.Write("critical.csx", """
            return await Phase("p", new[] { 1, 2, 3, 4 }, new[] { Strategy("s", agent: "tokens") }, continueOnFailure: true, budget: 1000);
            """);

        var (outcome, steps) = await harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Contain("item 2 failed: the budget of phase 'p' (1000) is spent: its agents reported 1200");
        steps.Should().NotContain(s => s.Id == "p/item-3");
        (await harness.Journal.Learning.GetOutcomesAsync("p", CancellationToken.None)).Sum(o => o.Items).Should().Be(2, "the refused item says nothing about the strategy");
    }

    [Fact]
    public async Task A_critical_refusal_a_js_worker_lets_through_ends_the_phase_too()
    {
        using var js = new JsHarness(new TokenAgent(600));

        var run = await js.RunAsync("""
            return await phase("p", [1, 2, 3, 4], {
              strategies: [{ name: "s", agent: "tokens" }],
              worker: async (w) => (await agent(w.agent).run({ n: w.item })).usage.totalTokens,
              continueOnFailure: true,
              budget: 1000,
            });
            """);

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().Contain("item 2 failed").And.Contain("the budget of phase 'p' (1000) is spent: its agents reported 1200");
        run.Steps.Should().NotContain(s => s.Id.StartsWith("p/item-3", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_minor_phase_budget_lets_the_phase_succeed_without_the_refused_items()
    {
        var harness = new EngineHarness(TimeProvider.System, null, [new TokenAgent(600)], []);
        var script = _dir.Write("minor.csx", """
            var done = await Phase("p", new[] { 1, 2, 3, 4 }, new[] { Strategy("s", agent: "tokens") }, budget: 1000, overBudget: "minor");
            return done!.AsArray().Select(r => r is null ? 0 : r["usage"]!["totalTokens"]!.GetValue<int>()).ToArray();
            """);

        var (outcome, steps) = await harness.RunCsxAsync(script);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be("[600,600,0,0]");
        steps.Single(s => s.Id == "p/item-2").Error.Should().Contain("minor: the budget of phase 'p' (1000) is spent");
        (await harness.Journal.Learning.GetOutcomesAsync("p", CancellationToken.None)).Sum(o => o.Items).Should().Be(2);
    }

    [Fact]
    public async Task A_resumed_run_counts_what_its_agents_spent_before_against_the_run_s_budget()
    {
        var agent = new TokenAgent(600) { FailOnceAtCall = 2 };
        var harness = new EngineHarness(TimeProvider.System, null, [agent], []);
        var script = _dir.Write("run-budget.csx", """
            await Goals(new { budget = 1000, overBudget = "moderate" });
            var a = await Agent("tokens").RunAsync(new { n = 1 });
            var b = await Agent("tokens").RunAsync(new { n = 2 });
            var c = await Agent("tokens").RunAsync(new { n = 3 });
            return new[] { a, b, c };
            """);
        var (failed, _) = await harness.RunCsxAsync(script);
        failed.Run.Status.Should().Be(RunStatus.Failed);

        var (resumed, steps) = await harness.ResumeCsxAsync(script, failed.Run.Id);

        resumed.Run.Status.Should().Be(RunStatus.Succeeded, resumed.Run.Error);
        agent.Calls.Should().Be(3, "the first call replayed; its 600 and the second's spent the budget before the third");
        steps.Single(s => s.Id == "tokens#3").Error.Should().Contain("the run's budget of 1000 is spent: its agents reported 1200");
    }

    private Task<CliResult> RunAsync(string command, string script, LoopbackServer model) =>
        CliRunner.RunAsync(command, script, "--store", Store, "--json", "--input", new JsonObject { ["endpoint"] = model.BaseUrl + "v1" }.ToJsonString());

    private async Task<IReadOnlyList<StepRecord>> StepsAsync(string runId)
    {
        await using var journal = SqliteJournal.Open(Store);
        return StepFolding.Fold(await journal.GetEntriesAsync(runId, CancellationToken.None));
    }

    /// <summary>The last goal check's phase budget rows, by phase.</summary>
    private static Dictionary<string, JsonObject> GoalChecks(IReadOnlyList<StepRecord> steps) =>
        steps.Last(s => s.Kind == "goal-check").Output!["checks"]!.AsArray()
            .Where(c => c!["goal"]!.GetValue<string>() == "phase budget")
            .ToDictionary(c => c!["phase"]!.GetValue<string>(), c => c!.AsObject());

    private static string Prompt(SeenRequest seen) =>
        JsonNode.Parse(seen.Body)!["messages"]!.AsArray().Last(m => m!["role"]!.GetValue<string>() == "user")!["content"]!.GetValue<string>();

    /// <summary>An agent that reports token usage as the llm agent does; it can fail one call (reporting nothing).</summary>
    private sealed class TokenAgent(int tokens) : Orchestrator.Abstractions.IAgent
    {
        private int _calls;

        public string Kind => "tokens";

        public int FailOnceAtCall { get; init; }

        public int Calls => Volatile.Read(ref _calls);

        public ValueTask<Orchestrator.Abstractions.AgentResult> RunAsync(Orchestrator.Abstractions.AgentTask task, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Interlocked.Increment(ref _calls) == FailOnceAtCall
                ? Orchestrator.Abstractions.AgentResult.Fail("overloaded")
                : Orchestrator.Abstractions.AgentResult.Ok(new JsonObject { ["usage"] = new JsonObject { ["totalTokens"] = tokens } }));
    }

    /// <summary>Answers a chat request as an OpenAI-compatible server does, with its token usage.</summary>
    private static Task Answer(HttpListenerContext ctx, SeenRequest seen)
    {
        var body = new JsonObject
        {
            ["id"] = "c1", ["object"] = "chat.completion", ["created"] = 1764300000, ["model"] = "tiny",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "on " + Prompt(seen) },
                ["finish_reason"] = "stop",
            }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = TokensPerCall - 100, ["completion_tokens"] = 100, ["total_tokens"] = TokensPerCall },
        };
        return LoopbackServer.Respond(ctx, 200, body.ToJsonString(), "application/json");
    }
}
