using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Consensus;

/// <summary>Peer-to-peer consensus from a .csx: proposals, votes, quorums, contributions, and what the journal keeps.</summary>
public sealed class ConsensusCSharpTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_majority_agrees_on_a_plan_every_peer_contributes_and_each_phase_is_a_journaled_step()
    {
        var (outcome, steps) = await RunAsync(ThreeKinds(), """
            return await Consensus("ship", new
            {
                a = new { propose = "release friday", vote = "b" },
                b = new { propose = "release monday", vote = "b" },
                c = new { propose = "wait a week", vote = "a" },
            }, peers: new[] { "a", "b", "c" }, quorum: Quorum.Majority);
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be(
            """{"agreed":true,"winner":"b","plan":"release monday","votes":{"a":"b","b":"b","c":"a"},"counts":{"b":2,"a":1,"c":0},"contributions":{"a":"a works on release monday","b":"b works on release monday","c":"c works on release monday"}}""");
        steps.Select(s => (s.Id, s.Kind)).Should().BeEquivalentTo(new[]
        {
            ("ship", "consensus"),
            ("ship/propose", "phase"), ("ship/propose/a", "agent"), ("ship/propose/b", "agent"), ("ship/propose/c", "agent"),
            ("ship/vote", "phase"), ("ship/vote/a", "agent"), ("ship/vote/b", "agent"), ("ship/vote/c", "agent"),
            ("ship/tally", "tally"),
            ("ship/contribute", "phase"), ("ship/contribute/a", "agent"), ("ship/contribute/b", "agent"), ("ship/contribute/c", "agent"),
        });
        Step(steps, "ship/vote/c").Agent.Should().Be("c");
        Step(steps, "ship/vote/c").Input!["proposals"]!.ToJsonString().Should().Be("""{"a":"release friday","b":"release monday","c":"wait a week"}""");
        Step(steps, "ship/contribute/a").Input!["plan"]!.GetValue<string>().Should().Be("release monday");
        Step(steps, "ship").Input!["quorum"]!.GetValue<string>().Should().Be("majority");
        Step(steps, "ship/tally").Output!["needed"]!.GetValue<string>().Should().Be("majority needs 2 of 3");
    }

    [Fact]
    public async Task Unanimity_fails_on_one_dissent_with_the_tally_in_the_error_and_in_the_journal()
    {
        var (outcome, steps) = await RunAsync(ThreeKinds(), """
            try
            {
                await Consensus("ship", new
                {
                    a = new { propose = "friday", vote = "b" },
                    b = new { propose = "monday", vote = "b" },
                    c = new { propose = "never", vote = "b" },
                }, peers: new[] { "a", "b", "c" }, quorum: Quorum.Unanimous);
                var dissent = await Consensus("again", new
                {
                    a = new { propose = "friday", vote = "a" },
                    b = new { propose = "monday", vote = "b" },
                    c = new { propose = "never", vote = "b" },
                }, peers: new[] { "a", "b", "c" }, quorum: Quorum.Unanimous);
                return Json("agreed");
            }
            catch (StepFailedException e) when (e.InnerException is ConsensusFailedException noQuorum)
            {
                return Json(new { e.StepId, e.Reason, tally = noQuorum.Tally });
            }
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        var result = outcome.Run.Result!;
        result["StepId"]!.GetValue<string>().Should().Be("again");
        result["Reason"]!.GetValue<string>().Should().Be("no quorum: votes b=2, a=1 (unanimous needs 3 of 3)");
        result["tally"]!["votes"]!.ToJsonString().Should().Be("""{"a":"a","b":"b","c":"b"}""");
        Step(steps, "ship").Status.Should().Be(RunStatus.Succeeded);
        Step(steps, "again").Status.Should().Be(RunStatus.Failed);
        Step(steps, "again").Error.Should().Be("no quorum: votes b=2, a=1 (unanimous needs 3 of 3)");
        var tally = Step(steps, "again/tally");
        tally.Status.Should().Be(RunStatus.Succeeded);
        tally.Output!.ToJsonString().Should().Be(
            """{"agreed":false,"winner":null,"quorum":"unanimous","votes":{"a":"a","b":"b","c":"b"},"counts":{"b":2,"a":1,"c":0},"needed":"unanimous needs 3 of 3","reason":"no quorum: votes b=2, a=1 (unanimous needs 3 of 3)"}""");
        steps.Should().NotContain(s => s.Id.StartsWith("again/contribute", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unhandled_no_quorum_fails_the_run_naming_the_step_and_the_votes()
    {
        var (outcome, _) = await RunAsync(ThreeKinds(), """
            await Consensus("ship", new
            {
                a = new { propose = "friday", vote = "a" },
                b = new { propose = "monday", vote = "b" },
                c = new { propose = "never", vote = "c" },
            }, peers: new[] { "a", "b", "c" });
            """);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Contain("step 'ship' failed: no quorum: votes a=1, b=1, c=1 (majority needs 2 of 3)");
    }

    [Fact]
    public async Task At_least_n_of_m_agrees_when_n_peers_back_one_proposal_and_a_tie_at_n_is_no_quorum()
    {
        var (outcome, _) = await RunAsync([new ScriptedPeerAgent()], """
            var peers = new[] { Peer("peer", "a"), Peer("peer", "b"), Peer("peer", "c"), Peer("peer", "d") };
            var two = await Consensus("two", new
            {
                a = new { propose = "x", vote = "b" },
                b = new { propose = "y", vote = "b" },
                c = new { propose = "z", vote = "a" },
                d = new { propose = "w", vote = (string?)null },
            }, peers, quorum: Quorum.AtLeast(2), contribute: false);
            var tie = await Consensus("tie", new
            {
                a = new { propose = "x", vote = "a" },
                b = new { propose = "y", vote = "b" },
                c = new { propose = "z", vote = "a" },
                d = new { propose = "w", vote = "b" },
            }, peers, quorum: Quorum.AtLeast(2), onNoQuorum: NoQuorum.ReturnOutcome);
            return new { two, tie };
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        var result = outcome.Run.Result!;
        result["two"]!.ToJsonString().Should().Be(
            """{"agreed":true,"winner":"b","plan":"y","votes":{"a":"b","b":"b","c":"a","d":null},"counts":{"b":2,"a":1,"c":0,"d":0},"contributions":{}}""");
        result["tie"]!.ToJsonString().Should().Be(
            """{"agreed":false,"winner":null,"reason":"no quorum: tie between a and b: votes a=2, b=2 (at least 2 of 4 needed)","votes":{"a":"a","b":"b","c":"a","d":"b"},"counts":{"a":2,"b":2,"c":0,"d":0}}""");
    }

    [Fact]
    public async Task A_weighted_vote_lets_a_heavier_peer_win_against_a_numeric_majority()
    {
        var (outcome, steps) = await RunAsync([new ScriptedPeerAgent()], """
            var task = new
            {
                lead = new { propose = "rewrite", vote = "lead" },
                dev1 = new { propose = "patch", vote = "dev1" },
                dev2 = new { propose = "wait", vote = "dev1" },
            };
            var peers = new[] { Peer("peer", "lead"), Peer("peer", "dev1"), Peer("peer", "dev2") };
            var weighted = await Consensus("weighted", task, peers, quorum: Quorum.Weighted(new() { ["lead"] = 3 }, threshold: 0.5), contribute: false);
            var heads = await Consensus("heads", task, peers, quorum: Quorum.Majority, contribute: false);
            var ownWeights = await Consensus("own", task, new[] { Peer("peer", "lead", weight: 3), Peer("peer", "dev1"), Peer("peer", "dev2") }, quorum: Quorum.Weighted(), contribute: false);
            return new { weighted = weighted!["winner"], heads = heads!["winner"], own = ownWeights!["winner"], counts = weighted["counts"] };
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be("""{"weighted":"lead","heads":"dev1","own":"lead","counts":{"lead":3,"dev1":2,"dev2":0}}""");
        Step(steps, "weighted/tally").Output!["needed"]!.GetValue<string>().Should().Be("weighted needs more than 2.5 of 5");
        Step(steps, "weighted").Input!["quorum"]!.ToJsonString().Should().Be("""{"weighted":{"lead":3},"threshold":0.5}""");
        Step(steps, "weighted/propose/dev2").Agent.Should().Be("peer", "the same agent kind sits twice under different names");
    }

    [Fact]
    public async Task Identical_proposals_pool_their_votes_under_the_first_peer_that_made_them()
    {
        var (outcome, _) = await RunAsync(ThreeKinds(), """
            return await Consensus("ship", new
            {
                a = new { propose = new { day = "friday" }, vote = "a" },
                b = new { propose = new { day = "friday" }, vote = "b" },
                c = new { propose = new { day = "monday" }, vote = "c" },
            }, peers: new[] { "a", "b", "c" }, contribute: false);
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!["winner"]!.GetValue<string>().Should().Be("a");
        outcome.Run.Result!["plan"]!.ToJsonString().Should().Be("""{"day":"friday"}""");
        outcome.Run.Result!["counts"]!.ToJsonString().Should().Be("""{"a":2,"c":1}""");
    }

    [Fact]
    public async Task A_vote_for_a_proposal_nobody_made_fails_the_vote_phase_naming_the_peer()
    {
        var (outcome, steps) = await RunAsync(ThreeKinds(), """
            await Consensus("ship", new
            {
                a = new { propose = "friday", vote = "zed" },
                b = new { propose = "monday", vote = "b" },
                c = new { propose = (string?)null, vote = "b" },
            }, peers: new[] { "a", "b", "c" });
            """);

        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Contain("step 'ship' failed: vote: peer 'a' voted for 'zed', which is not a proposal; proposals: a, b");
        Step(steps, "ship/vote").Error.Should().Be("peer 'a' voted for 'zed', which is not a proposal; proposals: a, b");
        Step(steps, "ship/vote/a").Output!.GetValue<string>().Should().Be("zed");
        steps.Should().NotContain(s => s.Id == "ship/tally");
    }

    [Fact]
    public async Task A_failing_peer_fails_its_phase_unless_its_severity_degrades_it_to_proposing_nothing()
    {
        var (failed, _) = await RunAsync(ThreeKinds(), """
            await Consensus("ship", new
            {
                a = new { propose = "friday", vote = "a", fail = "propose" },
                b = new { propose = "monday", vote = "b" },
                c = new { propose = "never", vote = "b" },
            }, peers: new[] { "a", "b", "c" });
            """);

        failed.Run.Status.Should().Be(RunStatus.Failed);
        failed.Run.Error.Should().Contain("step 'ship' failed: propose: peer 'a' failed: a cannot propose");

        var (degraded, steps) = await RunAsync(ThreeKinds(), """
            ClassifyFailures(f => f.Agent == "a" ? Severity.Moderate : null);
            return await Consensus("ship", new
            {
                a = new { propose = "friday", vote = "b", fail = "propose" },
                b = new { propose = "monday", vote = "b" },
                c = new { propose = "never", vote = "c" },
            }, peers: new[] { "a", "b", "c" }, contribute: false);
            """);

        degraded.Run.Status.Should().Be(RunStatus.Succeeded, degraded.Run.Error);
        degraded.Run.Result!["winner"]!.GetValue<string>().Should().Be("b");
        Step(steps, "ship/propose/a").Status.Should().Be(RunStatus.Degraded);
        Step(steps, "ship/vote/a").Input!["proposals"]!.ToJsonString().Should().Be("""{"b":"monday","c":"never"}""");
    }

    [Fact]
    public async Task Script_peers_run_their_own_steps_and_integrate_puts_the_contributions_together()
    {
        var (outcome, steps) = await RunAsync([new EchoAgent()], """
            var sizes = new Dictionary<string, int> { ["small"] = 1, ["medium"] = 2, ["large"] = 3 };
            ConsensusPeer Sized(string name, string likes) => Peer(name, async (phase, payload) => phase switch
            {
                "propose" => Json(likes),
                "vote" => Json(payload!["proposals"]!.AsObject().OrderByDescending(p => sizes[p.Value!.GetValue<string>()]).First().Key),
                _ => await Agent("echo").RunAsync(new { by = name, size = sizes[payload!["plan"]!.GetValue<string>()] }),
            });
            return await Consensus("size", "pick a size", new[] { Sized("x", "small"), Sized("y", "large"), Sized("z", "medium") },
                integrate: (contributions, plan) => new
                {
                    plan,
                    total = contributions.Select(c => c.Value!["size"]!.GetValue<int>()).Sum(),
                    by = contributions.Select(c => c.Key).ToArray(),
                });
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.ToJsonString().Should().Be("""{"plan":"large","total":9,"by":["x","y","z"]}""");
        Step(steps, "size/propose/x").Kind.Should().Be("peer");
        Step(steps, "size/contribute/z/echo").Output!.ToJsonString().Should().Be("""{"by":"z","size":3}""");
        Step(steps, "size/integrate").Kind.Should().Be("integrate");
        Step(steps, "size/integrate").Input!["plan"]!.GetValue<string>().Should().Be("large");
    }

    [Fact]
    public async Task Peers_of_a_phase_really_run_at_the_same_time()
    {
        // In every phase each peer opens its own gate and waits for the other's: one at a time would never finish.
        var (outcome, _) = await RunAsync([new GateAgent()], """
            ConsensusPeer Meeting(string me, string other) => Peer(me, (phase, payload) =>
                Agent("gate").RunAsync(new { signal = phase + me, wait = phase + other, value = phase == "vote" ? "a" : me }));
            return await Consensus("meet", null, new[] { Meeting("a", "b"), Meeting("b", "a") });
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!["contributions"]!.ToJsonString().Should().Be("""{"a":"a","b":"b"}""");
    }

    [Fact]
    public async Task A_resumed_consensus_replays_its_proposals_and_votes_and_runs_only_what_did_not_finish()
    {
        var peers = ThreeKinds();
        var harness = new EngineHarness(TimeProvider.System, null, peers, []);
        var script = _dir.Write("resume.csx", """
            return await Consensus("ship", new
            {
                a = new { propose = "friday", vote = "b" },
                b = new { propose = "monday", vote = "b" },
                c = new { propose = "never", vote = "b", failOnce = "contribute" },
            }, peers: new[] { "a", "b", "c" });
            """);

        var (first, _) = await harness.RunCsxAsync(script);
        first.Run.Status.Should().Be(RunStatus.Failed);
        first.Run.Error.Should().Contain("contribute: peer 'c' failed: c cannot contribute");

        var (resumed, steps) = await harness.ResumeCsxAsync(script, first.Run.Id);

        resumed.Run.Status.Should().Be(RunStatus.Succeeded, resumed.Run.Error);
        resumed.Run.Result!["contributions"]!["c"]!.GetValue<string>().Should().Be("c works on monday");
        var calls = peers.SelectMany(p => p.Calls).ToDictionary(c => c.Key, c => c.Value);
        calls.Where(c => !c.Key.StartsWith("ship/contribute/", StringComparison.Ordinal)).Should().OnlyContain(c => c.Value == 1);
        calls["ship/contribute/c"].Should().Be(2);
        Step(steps, "ship/tally").Status.Should().Be(RunStatus.Succeeded);
    }

    [Fact]
    public async Task A_consensus_that_could_never_work_is_refused_before_it_starts()
    {
        var (outcome, steps) = await RunAsync(ThreeKinds(), """
            var errors = new List<string>();
            async Task Try(Func<Task> attempt)
            {
                try { await attempt(); } catch (ArgumentException e) { errors.Add(e.Message); }
            }
            await Try(() => Consensus("dup", null, new[] { Peer("a", "x"), Peer("b", "x") }));
            await Try(() => Consensus("five", null, new[] { "a", "b", "c" }, quorum: Quorum.AtLeast(5)));
            await Try(() => Consensus("weights", null, new[] { "a", "b" }, quorum: Quorum.Weighted(new() { ["lead"] = 2 })));
            await Try(() => Consensus("none", null, Array.Empty<string>()));
            return errors;
            """);

        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        outcome.Run.Result!.AsArray().Select(e => e!.GetValue<string>()).Should().Equal(
            "consensus 'dup' has two peers named 'x'; give one of them another name",
            "consensus 'five': a quorum of at least 5 can never be met by 3 peers",
            "consensus 'weights': the weighted quorum gives a weight to 'lead', which is no peer; peers: a, b",
            "consensus 'none' needs peers: agent kinds, or peers with a name and a function");
        steps.Should().BeEmpty();
    }

    internal static ScriptedPeerAgent[] ThreeKinds() => [new("a"), new("b"), new("c")];

    private static StepRecord Step(IReadOnlyList<StepRecord> steps, string id) => steps.Single(s => s.Id == id);

    private async Task<(Orchestrator.Core.Workflow.RunOutcome Outcome, IReadOnlyList<StepRecord> Steps)> RunAsync(
        IEnumerable<Orchestrator.Abstractions.IAgent> agents, string source)
    {
        var harness = new EngineHarness(TimeProvider.System, null, agents, []);
        return await harness.RunCsxAsync(_dir.Write($"consensus-{Guid.NewGuid():N}.csx", source));
    }
}
