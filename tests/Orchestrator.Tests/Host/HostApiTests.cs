using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Host;

/// <summary>The host's HTTP API against a real Kestrel host on a free loopback port.</summary>
public sealed class HostApiTests
{
    private const string ParallelScript = """
        var first = await Step("first", () => 1);
        var both = await Parallel("both", Merge.AllMustSucceed,
            Branch("left", () => Step("l", () => 2)),
            Branch("right", async () => { await Step("r1", () => 3); return await Step("r2", () => 4); }));
        return await Step("last", () => first!.GetValue<int>() + 10);
        """;

    /// <summary>Blocks in step "wait" until the file named by the input's "flag" exists.</summary>
    private const string WaitingScript = """
        await Step("before", () => "done");
        await Step("wait", async () =>
        {
            var flag = Input!["flag"]!.GetValue<string>();
            while (!File.Exists(flag)) await Task.Delay(20, CancellationToken);
            return "through";
        });
        return await Step("after", () => 7);
        """;

    [Fact]
    public async Task A_submitted_run_is_listed_and_shown_with_its_steps_once_it_ends()
    {
        await using var host = await HostHarness.StartAsync();
        host.WriteScript("parallel.csx", ParallelScript);

        var submitted = await host.SubmitAsync("parallel.csx");
        var id = submitted["id"]!.GetValue<string>();
        submitted["status"]!.GetValue<string>().Should().Be("running");
        submitted["script"]!.GetValue<string>().Should().Be(Path.Combine(host.ScriptsDirectory, "parallel.csx"));

        var events = await host.EventsAsync(id);
        events[^1].Event.Should().Be("end");
        events[^1].Data["status"]!.GetValue<string>().Should().Be("succeeded");
        events[^1].Data["result"]!.GetValue<int>().Should().Be(11);

        var listed = (await host.GetJsonAsync("/api/runs")).AsArray();
        listed.Select(r => r!["id"]!.GetValue<string>()).Should().Equal(id);
        listed[0]!["status"]!.GetValue<string>().Should().Be("succeeded");
        (await host.GetJsonAsync("/api/runs?status=failed")).AsArray().Should().BeEmpty();
        (await host.GetJsonAsync("/api/runs?script=parallel")).AsArray().Should().ContainSingle();
        (await host.GetJsonAsync("/api/runs?script=other")).AsArray().Should().BeEmpty();

        var run = await host.GetJsonAsync($"/api/runs/{id}");
        run["status"]!.GetValue<string>().Should().Be("succeeded");
        run["result"]!.GetValue<int>().Should().Be(11);
        var steps = run["steps"]!.AsArray().Select(s => s!["id"]!.GetValue<string>()).ToList();
        steps.Should().BeEquivalentTo("first", "both", "both/left", "both/left/l", "both/right", "both/right/r1", "both/right/r2", "last");
        steps[0].Should().Be("first");
        steps[^1].Should().Be("last");
        run["steps"]!.AsArray().Should().OnlyContain(s => s!["status"]!.GetValue<string>() == "succeeded");

        using var missing = await host.Client.GetAsync("/api/runs/nope");
        missing.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_event_stream_carries_every_step_start_and_end_in_order_and_ends_with_the_run_end_live_and_late()
    {
        await using var host = await HostHarness.StartAsync();
        host.WriteScript("parallel.csx", ParallelScript);
        var id = (await host.SubmitAsync("parallel.csx"))["id"]!.GetValue<string>();

        var live = await host.EventsAsync(id);
        AssertWholeStream(live, expectedSteps: 8);

        // After the end, the same stream comes from the journal alone.
        var late = await host.EventsAsync(id);
        late.Select(e => (e.Id, e.Event, e.Data.ToJsonString())).Should().Equal(live.Select(e => (e.Id, e.Event, e.Data.ToJsonString())));

        // A reconnecting client gets only what came after the last event it saw.
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runs/{id}/events");
        request.Headers.Add("Last-Event-ID", "10");
        using var response = await host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        text.Should().StartWith("id: 11\n").And.Contain("event: end");
    }

    [Fact]
    public async Task A_cancelled_run_ends_cancelled_and_a_resume_finishes_it_without_running_its_finished_steps_again()
    {
        await using var host = await HostHarness.StartAsync();
        host.WriteScript("waiting.csx", WaitingScript);
        var flag = Path.Combine(host.ScriptsDirectory, "go.flag");
        var id = (await host.SubmitAsync("waiting.csx", new JsonObject { ["flag"] = flag }))["id"]!.GetValue<string>();

        var events = await host.EventsAsync(id, async e =>
        {
            if (e.Event == "step" && e.Data["stepId"]!.GetValue<string>() == "wait" && e.Data["event"]!.GetValue<string>() == "started")
            {
                using var cancel = await host.Client.PostAsync($"/api/runs/{id}/cancel", null);
                cancel.StatusCode.Should().Be(HttpStatusCode.Accepted);
            }
        });
        events[^1].Event.Should().Be("end");
        events[^1].Data["status"]!.GetValue<string>().Should().Be("cancelled");
        (await host.GetJsonAsync($"/api/runs/{id}"))["status"]!.GetValue<string>().Should().Be("cancelled");

        using (var again = await host.Client.PostAsync($"/api/runs/{id}/cancel", null))
        {
            again.StatusCode.Should().Be(HttpStatusCode.Conflict);
        }

        File.WriteAllText(flag, "go");
        using (var resume = await host.Client.PostAsJsonAsync($"/api/runs/{id}/resume", new JsonObject()))
        {
            resume.StatusCode.Should().Be(HttpStatusCode.Accepted, await resume.Content.ReadAsStringAsync());
        }

        var resumed = await host.EventsAsync(id);
        resumed[^1].Data["status"]!.GetValue<string>().Should().Be("succeeded");
        resumed[^1].Data["result"]!.GetValue<int>().Should().Be(7);

        var entries = resumed.Where(e => e.Event == "step").Select(e => (e.Data["stepId"]!.GetValue<string>(), e.Data["event"]!.GetValue<string>())).ToList();
        entries.Count(e => e == ("before", "started")).Should().Be(1, "a finished step is replayed, not run again");
        entries.Count(e => e == ("wait", "started")).Should().Be(2);
        var run = await host.GetJsonAsync($"/api/runs/{id}");
        run["steps"]!.AsArray().Select(s => (s!["id"]!.GetValue<string>(), s["status"]!.GetValue<string>()))
            .Should().Equal(("before", "succeeded"), ("wait", "succeeded"), ("after", "succeeded"));

        using var finished = await host.Client.PostAsJsonAsync($"/api/runs/{id}/resume", new JsonObject());
        finished.StatusCode.Should().Be(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Stopping_the_host_cancels_the_runs_in_flight_and_leaves_them_resumable()
    {
        var host = await HostHarness.StartAsync();
        await using (host)
        {
            host.WriteScript("waiting.csx", WaitingScript);
            var flag = Path.Combine(host.ScriptsDirectory, "go.flag");
            var id = (await host.SubmitAsync("waiting.csx", new JsonObject { ["flag"] = flag }))["id"]!.GetValue<string>();
            await host.EventsAsync(id, async e =>
            {
                if (e.Event == "step" && e.Data["stepId"]!.GetValue<string>() == "wait")
                {
                    await host.StopAsync();
                }
            });
            File.Exists(Path.Combine(host.StoreDirectory, "host.json")).Should().BeFalse("a stopped host removes its address");

            await using var journal = SqliteJournal.Open(host.StoreDirectory);
            var run = await journal.GetRunAsync(id, CancellationToken.None);
            run!.Status.Should().Be(RunStatus.Cancelled);
        }
    }

    [Fact]
    public async Task Fifty_concurrent_submissions_of_a_twenty_step_workflow_all_finish_with_whole_journals()
    {
        await using var host = await HostHarness.StartAsync();
        host.WriteScript("twenty.csx", """
            var total = 0;
            for (var i = 0; i < 20; i++) total += (await Step($"s{i}", () => i))!.GetValue<int>();
            return total;
            """);

        var ids = await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ => (await host.SubmitAsync("twenty.csx"))["id"]!.GetValue<string>()));
        var streams = await Task.WhenAll(ids.Select(id => host.EventsAsync(id)));

        ids.Should().OnlyHaveUniqueItems();
        foreach (var events in streams)
        {
            AssertWholeStream(events, expectedSteps: 20);
            events[^1].Data["result"]!.GetValue<int>().Should().Be(190);
        }

        await using var journal = SqliteJournal.Open(host.StoreDirectory);
        foreach (var id in ids)
        {
            var entries = await journal.GetEntriesAsync(id, CancellationToken.None);
            entries.Select(e => e.Seq).Should().Equal(Enumerable.Range(1, 40).Select(i => (long)i));
            StepFolding.Fold(entries).Should().HaveCount(20).And.OnlyContain(s => s.Status == RunStatus.Succeeded);
            (await journal.GetRunAsync(id, CancellationToken.None))!.Status.Should().Be(RunStatus.Succeeded);
        }
    }

    [Fact]
    public async Task A_script_that_does_not_compile_is_refused_with_its_file_and_line()
    {
        await using var host = await HostHarness.StartAsync();
        host.WriteScript("broken.csx", "var x = ;");
        using var response = await host.Client.PostAsJsonAsync("/api/runs", new JsonObject { ["script"] = "broken.csx" });
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().Contain("broken.csx(1,9): error CS1525");
        (await host.GetJsonAsync("/api/runs")).AsArray().Should().BeEmpty();
    }

    [Fact]
    public async Task The_host_serves_its_openapi_document_system_state_stats_and_review_queue()
    {
        await using var host = await HostHarness.StartAsync();
        await PendingReview.AddAsync(host.StoreDirectory);

        var openApi = await host.GetJsonAsync("/openapi/v1.json");
        openApi["paths"]!.AsObject().Select(p => p.Key).Should().Contain(["/api/runs", "/api/runs/{id}", "/api/runs/{id}/events", "/api/runs/{id}/cancel", "/api/runs/{id}/resume", "/api/reviews", "/api/reviews/{id}/decide", "/api/system", "/api/stats"]);

        var system = await host.GetJsonAsync("/api/system");
        system["agents"]!.AsArray().Select(a => a!["kind"]!.GetValue<string>()).Should().Contain("shell");
        system["agents"]!.AsArray().Should().OnlyContain(a => a!["circuit"]!.GetValue<string>() == "healthy" && a["inFlight"]!.GetValue<int>() == 0);
        system["mcpServers"]!.AsArray().Should().BeEmpty();
        system["monitor"]!["watching"]!.GetValue<int>().Should().Be(0, "the host's one monitor loop watches only runs in flight");

        var stats = await host.GetJsonAsync("/api/stats");
        stats["outcomes"]!.AsArray().Should().BeEmpty();

        var pending = (await host.GetJsonAsync("/api/reviews")).AsArray();
        pending.Should().ContainSingle().Which!["summary"]!.GetValue<string>().Should().Be(PendingReview.Summary);
        using (var decided = await host.Client.PostAsJsonAsync("/api/reviews/1/decide", new JsonObject { ["decision"] = "approve" }))
        {
            decided.StatusCode.Should().Be(HttpStatusCode.OK);
            JsonNode.Parse(await decided.Content.ReadAsStringAsync())!["status"]!.GetValue<string>().Should().Be("approved");
        }

        (await host.GetJsonAsync("/api/reviews")).AsArray().Should().BeEmpty();
        using var again = await host.Client.PostAsJsonAsync("/api/reviews/1/decide", new JsonObject { ["decision"] = "reject" });
        again.StatusCode.Should().Be(HttpStatusCode.Conflict);
    }

    /// <summary>Every event in sequence, each step's start before its end, every step ended, and the run's end last.</summary>
    private static void AssertWholeStream(IReadOnlyList<SseEvent> events, int expectedSteps)
    {
        events[^1].Event.Should().Be("end");
        events[^1].Data["status"]!.GetValue<string>().Should().Be("succeeded");
        events.Count(e => e.Event == "end").Should().Be(1);
        var steps = events.Take(events.Count - 1).ToList();
        steps.Select(e => long.Parse(e.Id!, System.Globalization.CultureInfo.InvariantCulture)).Should().Equal(Enumerable.Range(1, steps.Count).Select(i => (long)i));
        steps.Select(e => e.Data["seq"]!.GetValue<long>()).Should().Equal(Enumerable.Range(1, steps.Count).Select(i => (long)i));
        var open = new HashSet<string>();
        var ended = new HashSet<string>();
        foreach (var e in steps)
        {
            var stepId = e.Data["stepId"]!.GetValue<string>();
            if (e.Data["event"]!.GetValue<string>() == "started")
            {
                open.Add(stepId).Should().BeTrue($"{stepId} starts once");
            }
            else
            {
                open.Remove(stepId).Should().BeTrue($"{stepId} ends after it started");
                ended.Add(stepId);
            }
        }

        open.Should().BeEmpty();
        ended.Should().HaveCount(expectedSteps);
    }
}
