using Orchestrator.Abstractions;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.JavaScript;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.Consensus;

/// <summary>The consensus verb reaches JavaScript as it reaches C#: the same phases, quorums, result and journal.</summary>
public sealed class ConsensusJavaScriptTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_js_consensus_gives_the_same_result_and_the_same_journal_as_the_csx_one()
    {
        const string task = """
            {
                a: { propose: "release friday", vote: "b" },
                b: { propose: "release monday", vote: "b" },
                c: { propose: "wait a week", vote: "a" },
            }
            """;
        var js = await RunJsAsync(ConsensusCSharpTests.ThreeKinds(), $"""
            return await consensus("ship", {task}, {"{"} peers: ["a", "b", "c"], quorum: "majority" {"}"});
            """);
        var csx = await new EngineHarness(TimeProvider.System, null, ConsensusCSharpTests.ThreeKinds(), []).RunCsxAsync(_dir.Write("ship.csx", """
            return await Consensus("ship", new
            {
                a = new { propose = "release friday", vote = "b" },
                b = new { propose = "release monday", vote = "b" },
                c = new { propose = "wait a week", vote = "a" },
            }, peers: new[] { "a", "b", "c" }, quorum: Quorum.Majority);
            """));

        js.Outcome.Run.Status.Should().Be(RunStatus.Succeeded, js.Outcome.Run.Error);
        js.Outcome.Run.Result!.ToJsonString().Should().Be(csx.Outcome.Run.Result!.ToJsonString());
        js.Outcome.Run.Result!["plan"]!.GetValue<string>().Should().Be("release monday");
        Shape(js.Steps).Should().BeEquivalentTo(Shape(csx.Steps));
    }

    [Fact]
    public async Task Every_quorum_form_decides_in_javascript_and_no_quorum_throws_or_returns()
    {
        var (outcome, steps) = await RunJsAsync([new ScriptedPeerAgent()], """
            const peers = ["lead", "dev1", "dev2"].map((name) => ({ agent: "peer", name }));
            const task = {
              lead: { propose: "rewrite", vote: "lead" },
              dev1: { propose: "patch", vote: "dev1" },
              dev2: { propose: "wait", vote: "dev1" },
            };
            const winner = async (name, quorum) => (await consensus(name, task, { peers, quorum, contribute: false })).winner;
            let thrown = null;
            try {
              await consensus("all", task, { peers, quorum: "unanimous" });
            } catch (e) {
              thrown = { stepId: e.stepId, reason: e.reason };
            }
            const returned = await consensus("returned", task, { peers, quorum: { atLeast: 3 }, onNoQuorum: "return" });
            return {
              majority: await winner("majority"),
              atLeast: await winner("two", { atLeast: 2 }),
              byNumber: await winner("number", 2),
              weighted: await winner("weighted", { weighted: { lead: 3 }, threshold: 0.5 }),
              ownWeights: (await consensus("own", task, {
                peers: [{ agent: "peer", name: "lead", weight: 3 }, { agent: "peer", name: "dev1" }, { agent: "peer", name: "dev2" }],
                quorum: "weighted",
                contribute: false,
              })).winner,
              thrown,
              returned,
            };
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        var result = outcome.Run.Result!;
        result["majority"]!.GetValue<string>().Should().Be("dev1");
        result["atLeast"]!.GetValue<string>().Should().Be("dev1");
        result["byNumber"]!.GetValue<string>().Should().Be("dev1");
        result["weighted"]!.GetValue<string>().Should().Be("lead");
        result["ownWeights"]!.GetValue<string>().Should().Be("lead");
        result["thrown"]!.ToJsonString().Should().Be("""{"stepId":"all","reason":"no quorum: votes dev1=2, lead=1 (unanimous needs 3 of 3)"}""");
        result["returned"]!.ToJsonString().Should().Be(
            """{"agreed":false,"winner":null,"reason":"no quorum: votes dev1=2, lead=1 (at least 3 of 3 needed)","votes":{"lead":"lead","dev1":"dev1","dev2":"dev1"},"counts":{"dev1":2,"lead":1,"dev2":0}}""");
        steps.Single(s => s.Id == "all").Status.Should().Be(RunStatus.Failed);
        steps.Single(s => s.Id == "all/tally").Output!["agreed"]!.GetValue<bool>().Should().BeFalse();
        steps.Single(s => s.Id == "weighted").Input!["quorum"]!.ToJsonString().Should().Be("""{"weighted":{"lead":3},"threshold":0.5}""");
    }

    [Fact]
    public async Task Js_function_peers_run_steps_in_their_own_scope_and_an_async_integrate_gets_the_contributions()
    {
        var (outcome, steps) = await RunJsAsync([new EchoAgent()], """
            const sizes = { small: 1, medium: 2, large: 3 };
            const sized = (name, likes) => ({
              name,
              run: async (phase, payload) => {
                if (phase === "propose") return likes;
                if (phase === "vote") return { vote: Object.entries(payload.proposals).sort((x, y) => sizes[y[1]] - sizes[x[1]])[0][0] };
                return await agent("echo").run({ by: payload.peer, size: sizes[payload.plan] });
              },
            });
            return await consensus("size", "pick a size", {
              peers: [sized("x", "small"), sized("y", "large"), sized("z", "medium")],
              integrate: async (contributions, plan) => {
                const echoed = await agent("echo").run(Object.keys(contributions));
                return { plan, total: Object.values(contributions).reduce((n, c) => n + c.size, 0), by: echoed };
              },
            });
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be("""{"plan":"large","total":9,"by":["x","y","z"]}""");
        steps.Single(s => s.Id == "size/vote/y").Kind.Should().Be("peer");
        steps.Single(s => s.Id == "size/vote/y").Output!.ToJsonString().Should().Be("""{"vote":"y"}""");
        steps.Single(s => s.Id == "size/vote").Output!.ToJsonString().Should().Be("""{"x":"y","y":"y","z":"y"}""");
        steps.Single(s => s.Id == "size/contribute/x/echo").Output!.ToJsonString().Should().Be("""{"by":"x","size":3}""");
        steps.Single(s => s.Id == "size/integrate/echo").Output!.ToJsonString().Should().Be("""["x","y","z"]""");
    }

    [Fact]
    public async Task Bad_consensus_options_are_type_errors_that_say_what_is_wrong()
    {
        var (outcome, steps) = await RunJsAsync([new ScriptedPeerAgent()], """
            const problems = [];
            const attempt = (options) => {
              try { consensus("c", null, options); } catch (e) { problems.push(e.name + ": " + e.message); }
            };
            attempt({ peers: ["peer"], quorom: "majority" });
            attempt({ peers: "peer" });
            attempt({ peers: ["peer"], quorum: "most" });
            attempt({ peers: [{ name: "lonely" }] });
            attempt({ peers: ["peer", "peer"] });
            attempt({ peers: ["peer"], onNoQuorum: "shrug" });
            attempt({ peers: ["peer"], quorum: { atLeast: 2 } });
            return problems;
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.AsArray().Select(p => p!.GetValue<string>()).Should().Equal(
            "TypeError: consensus(name, task, options): unknown option 'quorom'; known: peers, quorum, onNoQuorum, integrate, contribute, recovery, timeoutMs",
            "TypeError: consensus(name, task, options): options.peers must be an array of agent kinds, { agent, name, weight } or { name, run: (phase, payload) => ..., weight }",
            "TypeError: consensus(name, task, options): unknown quorum \"most\"; use \"majority\", \"unanimous\", { \"atLeast\": 2 } or { \"weighted\": { \"peer\": 2 }, \"threshold\": 0.5 }",
            "TypeError: consensus(name, task, options): options.peers[0] needs either an agent kind or a run function, not neither",
            "TypeError: consensus 'c' has two peers named 'peer'; give one of them another name",
            "TypeError: consensus(name, task, options): options.onNoQuorum must be \"throw\" or \"return\", not \"shrug\"",
            "TypeError: consensus 'c': a quorum of at least 2 can never be met by 1 peers");
        steps.Should().BeEmpty();
    }

    private static IEnumerable<(string Id, string Kind, string? Agent, string Status)> Shape(IReadOnlyList<StepRecord> steps) =>
        steps.Select(s => (s.Id, s.Kind, s.Agent, s.Status.ToString()));

    private async Task<(RunOutcome Outcome, IReadOnlyList<StepRecord> Steps)> RunJsAsync(IEnumerable<IAgent> agents, string source)
    {
        var harness = new EngineHarness(TimeProvider.System, null, agents, []);
        var program = JavaScriptWorkflow.Compile(_dir.Write($"consensus-{Guid.NewGuid():N}.js", source), JavaScriptOptions.Default, Logger.None);
        return await harness.RunAsync(program);
    }
}
