using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Reporting;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Reporting;

/// <summary>A report stays readable and bounded whatever the size of the run: repeated steps by pattern, failures listed up to a limit.</summary>
public sealed class ReportScaleTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("\u0061ll/w17/s3#2", "all/w*/s*")]
    [InlineData("all/w4/s12", "all/w*/s*")]
    [InlineData("summary", "summary")]
    [InlineData("retry#3/shell#2", "retry/shell")]
    [InlineData("item-2024-01/x9y", "item-*-*/x*y")]
    public void A_step_pattern_replaces_numbers_and_drops_repeat_suffixes(string id, string pattern) =>
        StepPattern.Of(id).Should().Be(pattern);

    [Fact]
    public async Task A_run_of_many_steps_is_reported_by_pattern_with_every_step_counted_and_its_failures_listed()
    {
        var journal = new InMemoryJournal();
        await journal.StartRunAsync(new RunRecord { Id = "big", Script = "/w/big.csx", ScriptHash = "h", Language = "csharp", EngineVersion = "1", StartedAt = T0 }, default);
        long seq = 0;
        async Task Step(string id, string? parent, string kind, StepEvent end, JsonNode? output, int ms, int attempt = 1)
        {
            await journal.AppendAsync(new JournalEntry("big", ++seq, id, StepEvent.Started, parent, id.Split('/')[^1], kind, kind == "agent" ? "shell" : null, attempt, null, null, T0), default);
            await journal.AppendAsync(new JournalEntry("big", ++seq, id, end, parent, id.Split('/')[^1], kind, kind == "agent" ? "shell" : null, attempt, output, end == StepEvent.Failed ? "exit 1 for " + id : null, T0.AddMilliseconds(ms)), default);
        }

        const int Workers = 40, PerWorker = 500;
        for (var w = 0; w < Workers; w++)
        {
            for (var s = 0; s < PerWorker; s++)
            {
                var failed = w == 3 && s < 150;
                await Step($"all/w{w}/s{s}", $"all/w{w}", "agent", failed ? StepEvent.Failed : StepEvent.Succeeded, JsonValue.Create(s), ms: 1 + (s % 10));
            }

            await Step($"all/w{w}", "all", "branch", StepEvent.Succeeded, JsonValue.Create(w), ms: 500);
        }

        // One failed step run again by a resume, and succeeding: counted once, as succeeded.
        await Step("all/w3/s0", "all/w3", "agent", StepEvent.Succeeded, JsonValue.Create(0), ms: 2, attempt: 2);
        await Step("all", null, "parallel", StepEvent.Succeeded, new JsonObject { ["big"] = new string('x', 100_000) }, ms: 600);
        await journal.EndRunAsync("big", RunStatus.Succeeded, null, null, T0.AddSeconds(1), default);

        var package = await HandoffPackage.LoadAsync(journal, "big", default);

        var total = Workers * PerWorker + Workers + 1;
        package.Digest.Total.Should().Be(total);
        package.Digest.Counts[RunStatus.Failed].Should().Be(149);
        package.Digest.Counts[RunStatus.Succeeded].Should().Be(total - 149);
        package.Steps.Select(s => s.Id).Should().Equal("all");
        package.Digest.StepsOmitted.Should().Be(total - 1);
        var workers = package.Digest.Groups.Single(g => g.Pattern == "all/w*/s*");
        workers.Count.Should().Be(Workers * PerWorker);
        workers.Statuses[RunStatus.Failed].Should().Be(149);
        workers.MaxMs.Should().Be(10);
        workers.P50Ms.Should().BeInRange(4, 7);
        package.Digest.Failures.Should().HaveCountLessThanOrEqualTo(StepDigestBuilder.FailureLimit).And.HaveCountGreaterThan(90);
        package.Digest.Failures.Should().NotContain(f => f.Id == "all/w3/s0", "the step that failed and then succeeded is no failure");
        (package.Digest.Failures.Count + package.Digest.FailuresOmitted).Should().Be(149);
        package.Steps[0].OutputChars.Should().Be(100_000 + "{\"big\":\"\"}".Length);
        package.Steps[0].Output!.GetValue<string>().Should().HaveLength(JournalRow.PreviewChars);

        var writer = new ReportWriter(_dir.Path, new FakeTimeProvider(T0));
        var markdown = writer.Render(package, ReportFormat.Markdown, null);
        var html = writer.Render(package, ReportFormat.Html, null);
        markdown.Should().Contain("## Step groups").And.Contain("| all/w*/s* | agent | shell | 20000 | 19851 | 149 |")
            .And.Contain($"{package.Digest.FailuresOmitted} more steps failed").And.Contain("orchestrator runs show big --step all");
        html.Should().Contain("<h2>Step groups</h2>");
        (markdown.Length + html.Length).Should().BeLessThan(200_000);

        await writer.WriteAsync(package, default);
        var json = HandoffPackageJson.Deserialize(await File.ReadAllTextAsync(writer.ReportPath("big", "json")));
        json.Digest.Total.Should().Be(total);
        json.Digest.Groups.Should().ContainSingle(g => g.Pattern == "all/w*/s*").Which.Count.Should().Be(Workers * PerWorker);
    }

    [Fact]
    public async Task A_small_run_lists_every_step_and_a_compensated_step_is_counted_as_compensated()
    {
        var journal = new InMemoryJournal();
        await journal.StartRunAsync(new RunRecord { Id = "small", Script = "/w/s.csx", ScriptHash = "h", Language = "csharp", EngineVersion = "1", StartedAt = T0 }, default);
        await journal.AppendAsync(new JournalEntry("small", 1, "pay", StepEvent.Started, null, "pay", "agent", "http", 1, null, null, T0), default);
        await journal.AppendAsync(new JournalEntry("small", 2, "pay", StepEvent.Succeeded, null, "pay", "agent", "http", 1, JsonValue.Create(1), null, T0), default);
        await journal.AppendAsync(new JournalEntry("small", 3, "ship", StepEvent.Started, null, "ship", "agent", "http", 1, null, null, T0), default);
        await journal.AppendAsync(new JournalEntry("small", 4, "ship", StepEvent.Failed, null, "ship", "agent", "http", 1, null, "down", T0), default);
        await journal.AppendAsync(new JournalEntry("small", 5, "pay", StepEvent.Compensated, null, "pay", "agent", "http", 1, null, "compensated by a rollback", T0), default);

        var package = await HandoffPackage.LoadAsync(journal, "small", default);

        package.Steps.Select(s => (s.Id, s.Status)).Should().Equal(("pay", RunStatus.Compensated), ("ship", RunStatus.Failed));
        package.Digest.Counts.Should().BeEquivalentTo(new Dictionary<RunStatus, long> { [RunStatus.Compensated] = 1, [RunStatus.Failed] = 1 });
        package.Digest.StepsOmitted.Should().Be(0);
    }
}
