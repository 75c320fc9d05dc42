using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Agents.Tests;
using Orchestrator.Core.Health;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Plugins;
using Orchestrator.Core.Provisioning;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.Consensus;

/// <summary>
/// Consensus, peer-to-peer phases, provisioning by capability and the swap-agent recommendation with the standard
/// plugins only: the <c>llm</c> agent and profiles of it (agents.json), against an OpenAI-compatible server on loopback.
/// </summary>
public sealed partial class StandardAgentPeersTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Store => Path.Combine(_dir.Path, "store");

    [Fact]
    public async Task Three_llm_peers_propose_vote_and_contribute_through_the_model()
    {
        await using var model = new LoopbackServer((ctx, seen) => Answer(ctx, seen, (peer, phase, _) => (peer, phase) switch
        {
            ("c", "propose") => "Ship on Friday.",
            (_, "propose") => "Ship behind a feature flag.",
            ("a", "vote") => "a",
            ("b", "vote") => "I back a: the flag is safer.",
            ("c", "vote") => "[c]",
            _ => $"{peer} writes its part",
        }));
        var script = _dir.Write("ship.csx", """
            var task = new { prompt = "How do we ship the release?", endpoint = (string)Input!["endpoint"]!, model = "tiny" };
            return await Consensus("ship", task, peers: new[] { Peer("llm", name: "a"), Peer("llm", name: "b"), Peer("llm", name: "c") });
            """);

        var result = await CliRunner.RunAsync("run", script, "--store", Store, "--json", "--input", new JsonObject { ["endpoint"] = model.BaseUrl + "v1" }.ToJsonString());

        result.ExitCode.Should().Be(0, result.ToString());
        var outcome = JsonNode.Parse(result.LastLine)!["result"]!;
        outcome["agreed"]!.GetValue<bool>().Should().BeTrue();
        outcome["winner"]!.GetValue<string>().Should().Be("a");
        outcome["plan"]!.GetValue<string>().Should().Be("Ship behind a feature flag.");
        outcome["votes"]!.ToJsonString().Should().Be("""{"a":"a","b":"a","c":"c"}""");
        outcome["contributions"]!.ToJsonString().Should().Be("""{"a":"a writes its part","b":"b writes its part","c":"c writes its part"}""");
        model.Seen.Should().HaveCount(9, "three peers, three phases, one request each");
        var vote = model.Seen.Select(Read).Single(r => r.Peer == "c" && r.Phase == "vote");
        vote.Prompt.Should().Contain("How do we ship the release?").And.Contain("[a]\nShip behind a feature flag.").And.Contain("[c]\nShip on Friday.");
        vote.Model.Should().Be("tiny", "the task object's settings reach each peer's request");
    }

    [Fact]
    public async Task A_peer_to_peer_phase_runs_on_llm_profiles_found_by_their_capability()
    {
        await using var model = new LoopbackServer((ctx, seen) => Answer(ctx, seen, (peer, phase, m) => phase switch
        {
            "propose" => $"review with {m}",
            "vote" => "careful",
            _ => $"{peer} checked it",
        }));
        WriteProfiles(model, ("careful", "m-careful"), ("fast", "m-fast"), ("thrifty", "m-thrifty"));
        var script = _dir.Write("council.js", """
            return await phase("review", ["chapter 1"], { strategies: [{ name: "council", agent: "review", mode: "peer-to-peer" }] });
            """);

        var result = await CliRunner.RunAsync("run", script, "--store", Store, "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        var first = JsonNode.Parse(result.LastLine)!["result"]![0]!;
        first["winner"]!.GetValue<string>().Should().Be("careful");
        first["plan"]!.GetValue<string>().Should().Be("review with m-careful");
        first["contributions"]!.AsObject().Select(c => c.Key).Should().Equal("careful", "fast", "thrifty");
        model.Seen.Select(Read).Select(r => (r.Peer, r.Model)).Distinct().Should().BeEquivalentTo(new[] { ("careful", "m-careful"), ("fast", "m-fast"), ("thrifty", "m-thrifty") });
        var steps = await CliRunner.RunAsync("runs", "show", JsonNode.Parse(result.LastLine)!["runId"]!.GetValue<string>(), "--store", Store);
        steps.Stdout.Should().Contain("review/item-0/propose/fast").And.Contain("review/item-0/vote/thrifty");
    }

    [Fact]
    public async Task A_failing_llm_profile_gets_a_recommendation_to_swap_to_another_profile_with_its_capability()
    {
        var time = new FakeTimeProvider();

        // Five seconds of the run's clock a call: the optimization loop's first look, at 60 s, has seen a dozen calls.
        await using var model = new LoopbackServer(async (ctx, seen) =>
        {
            time.Advance(TimeSpan.FromSeconds(5));
            if (Read(seen).Model == "m-down")
            {
                await LoopbackServer.Respond(ctx, 503, """{"error":{"message":"overloaded"}}""", "application/json");
                return;
            }

            await Answer(ctx, seen, (_, _, _) => "done");
        });
        WriteProfiles(model, ("primary", "m-down"), ("backup", "m-up"));
        var script = _dir.Write("summarize.csx", """
            return await Phase("summarize", Enumerable.Range(0, 16).Select(i => new { prompt = $"summarize part {i}" }).ToArray(),
                new[] { Strategy("main", agent: "primary") }, continueOnFailure: true);
            """);
        using var plugins = PluginHost.Load([PluginHost.DefaultDirectory], Logger.None);
        plugins.UseProfiles(AgentProfiles.Discover(_dir.Path, null));
        var health = new AgentHealthBook(time, new CircuitOptions { MinimumThroughput = 1000 });
        using var program = CSharpWorkflow.Compile(script, Logger.None);
        await using var journal = SqliteJournal.Open(Store);

        var outcome = await new WorkflowEngine(journal, plugins, null, time, Logger.None, health).RunAsync(program, null, CancellationToken.None);

        var steps = StepFolding.Fold(await journal.GetEntriesAsync(outcome.Run.Id, CancellationToken.None));
        steps.Where(s => s.Kind == "work").Should().OnlyContain(s => s.Agent == "primary");
        var queued = steps.Should().ContainSingle(s => s.Kind == "recommendation").Subject.Output!;
        queued["kind"]!.GetValue<string>().Should().Be("swap-agent");
        queued["change"]!["agent"]!.GetValue<string>().Should().Be("backup");
    }

    [Fact]
    public async Task An_llm_master_splits_the_task_llm_profile_workers_do_the_parts_and_the_master_integrates()
    {
        await using var model = new LoopbackServer((ctx, seen) =>
        {
            var request = Read(seen);
            var text = request.Model switch
            {
                "m-lead" when request.Prompt.Contains("Results:", StringComparison.Ordinal) => "The disk is full.",
                "m-lead" => """["read the logs", "check the disk"]""",
                _ => $"done: {request.Prompt}",
            };
            return Answer(ctx, seen, (_, _, _) => text);
        });
        WriteProfiles(model, ("worker", "m-worker"));
        var script = _dir.Write("diagnose.csx", """
            var task = new { prompt = "Why is the site down?", endpoint = (string)Input!["endpoint"]!, model = "m-lead" };
            return await MasterWorker("diagnose", task, master: "llm", worker: "worker", concurrency: 2);
            """);

        var result = await CliRunner.RunAsync("run", script, "--store", Store, "--json", "--input", new JsonObject { ["endpoint"] = model.BaseUrl + "v1" }.ToJsonString());

        result.ExitCode.Should().Be(0, result.ToString());
        JsonNode.Parse(result.LastLine)!["result"]!.GetValue<string>().Should().Be("The disk is full.");
        var requests = model.Seen.Select(Read).ToList();
        requests.Where(r => r.Model == "m-worker").Select(r => r.Prompt).Should().BeEquivalentTo("read the logs", "check the disk");
        requests.Last().Prompt.Should().Contain("[0]\n").And.Contain("done: read the logs").And.Contain("done: check the disk");
    }

    [Fact]
    public async Task A_master_worker_phase_has_each_item_split_by_an_llm_master_worked_by_llm_profiles_and_integrated()
    {
        await using var model = new LoopbackServer((ctx, seen) =>
        {
            var request = Read(seen);
            var text = request.Model switch
            {
                "m-lead" when request.Prompt.Contains("Results:", StringComparison.Ordinal) => "integrated " + request.Prompt.Split('\n')[1],
                "m-lead" => """["part one", "part two"]""",
                _ => $"done: {request.Prompt}",
            };
            return Answer(ctx, seen, (_, _, _) => text);
        });
        WriteProfiles(model, ("lead", "m-lead"), ("worker", "m-worker"));
        var script = _dir.Write("chapters.js", """
            return await phase("summarize", [{ prompt: "chapter 1" }, { prompt: "chapter 2" }], {
              strategies: [{ name: "team", mode: "master-worker", master: "lead", agent: "worker", concurrency: 2 }],
            });
            """);

        var result = await CliRunner.RunAsync("run", script, "--store", Store, "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        JsonNode.Parse(result.LastLine)!["result"]!.AsArray().Select(r => r!.GetValue<string>()).Should().Equal("integrated chapter 1", "integrated chapter 2");
        model.Seen.Select(Read).Where(r => r.Model == "m-worker").Select(r => r.Prompt).Should().BeEquivalentTo("part one", "part two", "part one", "part two");
        var show = await CliRunner.RunAsync("runs", "show", JsonNode.Parse(result.LastLine)!["runId"]!.GetValue<string>(), "--store", Store);
        show.Stdout.Should().Contain("summarize/item-0/split").And.Contain("summarize/item-1/subtask-1").And.Contain("summarize/item-0/integrate");
    }

    [Fact]
    public async Task A_master_outside_master_worker_mode_is_refused_naming_the_strategy()
    {
        var script = _dir.Write("bad.csx", """
            return await Phase("p", new[] { 1 }, new[] { Strategy("s", agent: "shell", mode: "parallel", master: "llm") });
            """);

        var result = await CliRunner.RunAsync("run", script, "--store", Store);

        result.ExitCode.Should().NotBe(0);
        result.Stderr.Should().Contain("phase 'p', strategy 's': a master is a non-empty agent kind or capability, for master-worker mode only");
    }

    [Fact]
    public async Task A_profile_fills_what_the_input_leaves_out_and_the_input_wins()
    {
        await using var model = new LoopbackServer((ctx, seen) => Answer(ctx, seen, (_, _, _) => "ok"));
        WriteProfiles(model, ("writer", "m-writer"));
        var script = _dir.Write("write.csx", """
            var preset = await Agent("writer").RunAsync(new { prompt = "one" });
            var overridden = await Agent("writer").RunAsync(new { prompt = "two", model = "m-other" });
            return new { a = (string)preset!["model"]!, b = (string)overridden!["model"]! };
            """);

        var result = await CliRunner.RunAsync("run", script, "--store", Store, "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        model.Seen.Select(r => Read(r).Model).Should().Equal("m-writer", "m-other");
    }

    [Theory]
    [InlineData("{ \"agents\": { \"x\": { \"agent\": \"llm\", } ", "agents.json(1): error: not valid JSON")]
    [InlineData("{ \"agents\": { \"x\": { \"agent\": \"lm\" } } }", "agents.x.agent: error: no plugin provides an agent of kind 'lm'")]
    [InlineData("{ \"agents\": { \"shell\": { \"agent\": \"llm\" } } }", "agents.shell: error: 'shell' is already an agent kind")]
    [InlineData("{ \"agents\": { \"x\": { \"agent\": \"llm\", \"model\": \"m\" } } }", "agents.x: error: unknown key 'model'")]
    [InlineData("{ \"agents\": { \"x\": { \"agent\": \"llm\", \"maxConcurrency\": 0 } } }", "agents.x.maxConcurrency: error: expected a whole number of at least 1")]
    public async Task A_bad_agents_json_is_one_line_naming_the_file_and_exit_2(string json, string expected)
    {
        _dir.Write("agents.json", json);
        var script = _dir.Write("hello.csx", "return 1;");

        var result = await CliRunner.RunAsync("run", script, "--store", Store);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Trim().Should().Contain(Path.Combine(_dir.Path, "agents.json")).And.Contain(expected).And.NotContain("\n");
    }

    private void WriteProfiles(LoopbackServer model, params (string Name, string Model)[] profiles)
    {
        var agents = new JsonObject();
        foreach (var (name, m) in profiles)
        {
            agents[name] = new JsonObject
            {
                ["agent"] = "llm",
                ["input"] = new JsonObject { ["endpoint"] = model.BaseUrl + "v1", ["model"] = m },
                ["capabilities"] = new JsonArray("review", "summarize"),
            };
        }

        _dir.Write("agents.json", new JsonObject { ["agents"] = agents }.ToJsonString());
    }

    /// <summary>Answers a chat request with the text <paramref name="reply"/> gives for the peer, the protocol phase and the model.</summary>
    private static Task Answer(HttpListenerContext ctx, SeenRequest seen, Func<string?, string?, string, string> reply)
    {
        var request = Read(seen);
        var body = new JsonObject
        {
            ["id"] = "c1", ["object"] = "chat.completion", ["created"] = 1764300000, ["model"] = request.Model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = reply(request.Peer, request.Phase, request.Model) },
                ["finish_reason"] = "stop",
            }),
        };
        return LoopbackServer.Respond(ctx, 200, body.ToJsonString(), "application/json");
    }

    private static ChatRequest Read(SeenRequest seen)
    {
        var body = JsonNode.Parse(seen.Body)!;
        var messages = body["messages"]!.AsArray();
        var system = string.Join("\n", messages.Where(m => m!["role"]!.GetValue<string>() == "system").Select(m => m!["content"]!.GetValue<string>()));
        var prompt = messages.Last(m => m!["role"]!.GetValue<string>() == "user")!["content"]!.GetValue<string>();
        var peer = PeerName().Match(system) is { Success: true } match ? match.Groups[1].Value : null;
        var phase = system.Contains("Propose one approach", StringComparison.Ordinal) ? "propose"
            : system.Contains("Back the best one", StringComparison.Ordinal) ? "vote"
            : system.Contains("agreed on the plan", StringComparison.Ordinal) ? "contribute"
            : null;
        return new ChatRequest(body["model"]!.GetValue<string>(), peer, phase, prompt);
    }

    [GeneratedRegex(@"You are ([^,.]+)[,.]")]
    private static partial Regex PeerName();

    private sealed record ChatRequest(string Model, string? Peer, string? Phase, string Prompt);
}
