using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Reporting;

namespace Orchestrator.Tests.Reporting;

public sealed class ReportWriterTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2025, 3, 14, 9, 0, 0, TimeSpan.Zero);
    private readonly string _store = Path.Combine(Path.GetTempPath(), "orchestrator-report-tests-" + Guid.NewGuid().ToString("N"));
    private readonly ReportWriter _writer;

    public ReportWriterTests()
    {
        Directory.CreateDirectory(_store);
        _writer = new ReportWriter(_store, new FakeTimeProvider(Start));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_store, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    [Fact]
    public void A_syntax_error_names_the_file_line_and_column()
    {
        var path = WriteTemplate("broken.md.sbn", "# Report\n\nStatus: {{ run.status }}\n  {{ x = 1 + }}\n");

        var validate = () => _writer.Validate(path);

        var message = validate.Should().Throw<TemplateException>().Which.Message;
        message.Should().StartWith($"{path}(4,").And.Contain("): error: ");
        message.Split('\n').Should().AllSatisfy(line => line.Should().MatchRegex(@"^.+\(\d+,\d+\): error: .+$"));
        var column = int.Parse(message[(path.Length + 3)..message.IndexOf(')', path.Length)], System.Globalization.CultureInfo.InvariantCulture);
        column.Should().BeGreaterThan(1);
    }

    [Fact]
    public void Parse_errors_are_one_line_naming_the_first_and_counting_the_rest()
    {
        var path = WriteTemplate("two-errors.md.sbn", "{{ if }\n{{ end }}\n");

        var message = ((Action)(() => _writer.Validate(path))).Should().Throw<TemplateException>().Which.Message;

        message.Should().NotContain("\n").And.StartWith(path + "(1,").And.Contain("): error: ").And.MatchRegex(@"\(and \d+ more\)$");
    }

    [Fact]
    public void Rendering_with_a_broken_template_throws_the_same_error()
    {
        var path = WriteTemplate("broken.md.sbn", "{{ for x in }}\n");

        var render = () => _writer.Render(Package(), ReportFormat.Markdown, path);

        render.Should().Throw<TemplateException>().WithMessage($"{path}(1,*): error: *");
    }

    [Fact]
    public void A_missing_template_is_reported_as_not_found()
    {
        var path = Path.Combine(_store, "nope", "missing.md.sbn");

        ((Action)(() => _writer.Validate(path))).Should().Throw<TemplateException>().WithMessage($"{path}: template not found");
        ((Action)(() => _writer.Render(Package(), ReportFormat.Markdown, path))).Should().Throw<TemplateException>().WithMessage($"{path}: template not found");
    }

    [Fact]
    public async Task A_missing_script_template_fails_WriteAsync_without_writing_anything()
    {
        var package = Package() with { TemplatePath = Path.Combine(_store, "gone.md.sbn") };

        var write = () => _writer.WriteAsync(package, CancellationToken.None);

        await write.Should().ThrowAsync<TemplateException>().WithMessage("*gone.md.sbn: template not found");
        Directory.Exists(_writer.ReportsDirectory).Should().BeFalse();
    }

    [Fact]
    public void A_runtime_error_names_the_file_and_line()
    {
        var path = WriteTemplate("runtime.md.sbn", "ok\nok\n{{ run.no_such.member }}\n");

        var render = () => _writer.Render(Package(), ReportFormat.Markdown, path);

        render.Should().Throw<TemplateException>().WithMessage($"{path}(3,*): error: *null*");
    }

    [Fact]
    public void A_file_template_is_parsed_once_and_again_only_after_it_changes()
    {
        var path = WriteTemplate("custom.md.sbn", "v1 {{ title }}");

        _writer.Validate(path);
        var first = _writer.Render(Package(), ReportFormat.Markdown, path);
        var second = _writer.Render(Package(), ReportFormat.Markdown, path);

        first.Should().Be("v1 hello");
        second.Should().Be(first);
        _writer.ParseCount.Should().Be(1);

        File.WriteAllText(path, "v2 {{ title }}!");
        File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(5));
        _writer.Render(Package(), ReportFormat.Markdown, path).Should().Be("v2 hello!");
        _writer.Render(Package(), ReportFormat.Markdown, path).Should().Be("v2 hello!");
        _writer.ParseCount.Should().Be(2);
    }

    [Fact]
    public async Task Built_in_templates_are_parsed_once_per_writer()
    {
        await _writer.WriteAsync(Package(), CancellationToken.None);
        await _writer.WriteAsync(Package() with { Run = Package().Run with { Id = "run-2" } }, CancellationToken.None);

        _writer.ParseCount.Should().Be(2, "the Markdown and the HTML template, each parsed once");
    }

    [Fact]
    public async Task Preparing_parses_the_built_in_templates_ahead_and_writes_nothing()
    {
        _writer.Prepare();

        _writer.ParseCount.Should().Be(2);
        Directory.Exists(_writer.ReportsDirectory).Should().BeFalse("preparing only warms up; it writes no report");

        await _writer.WriteAsync(Package(), CancellationToken.None);
        _writer.ParseCount.Should().Be(2, "the run's report finds both templates parsed already");
        File.ReadAllText(_writer.ReportPath(Package().Run.Id, "md")).Should().Contain("hello");
    }

    [Fact]
    public async Task Concurrent_renders_parse_once_and_agree()
    {
        var path = WriteTemplate("shared.md.sbn", "{{ for step in steps }}{{ step.id }};{{ end }}{{ title }}");

        var outputs = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => _writer.Render(Package(), ReportFormat.Markdown, path))));

        outputs.Distinct().Should().ContainSingle().Which.Should().Be("build;build/test;hello");
        _writer.ParseCount.Should().Be(1);
    }

    [Fact]
    public void Each_render_gets_a_fresh_context()
    {
        var path = WriteTemplate("counter.md.sbn", "{{ count = (count ?? 0) + 1; count }} {{ run.status = 'mutated'; '' }}{{ title = title + '!'; title }}");

        var first = _writer.Render(Package(), ReportFormat.Markdown, path);
        var second = _writer.Render(Package(), ReportFormat.Markdown, path);

        first.Should().Be("1 hello!");
        second.Should().Be(first);
    }

    [Fact]
    public async Task WriteAsync_writes_the_json_package_and_both_reports()
    {
        var package = Package();

        var markdownPath = await _writer.WriteAsync(package, CancellationToken.None);

        var reports = Path.Combine(_store, "reports");
        markdownPath.Should().Be(Path.Combine(reports, "run-1.md"));
        Directory.GetFiles(reports).Select(Path.GetFileName).Should().BeEquivalentTo("run-1.json", "run-1.md", "run-1.html");
        File.ReadAllText(markdownPath).Should().StartWith("# hello\n").And.Be(_writer.Render(package, ReportFormat.Markdown, null));
        File.ReadAllText(Path.Combine(reports, "run-1.html")).Should().StartWith("<!DOCTYPE html>").And.Contain("<title>hello</title>");

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(reports, "run-1.json")))!.AsObject();
        json.Select(p => p.Key).Should().Equal("run", "steps", "summary", "data", "title", "qa");
        json["run"]!["id"]!.GetValue<string>().Should().Be("run-1");
        json["run"]!["status"]!.GetValue<string>().Should().Be("failed");
        json["run"]!["startedAt"].Should().NotBeNull();
        json["steps"]!.AsArray().Should().HaveCount(2);
        json["steps"]![1]!["parentId"]!.GetValue<string>().Should().Be("build");
        json["data"]!["Some Key"]!.GetValue<int>().Should().Be(1);
        json["title"]!.GetValue<string>().Should().Be("hello");
    }

    [Fact]
    public async Task WriteAsync_replaces_earlier_reports_and_leaves_no_temporary_files()
    {
        await _writer.WriteAsync(Package(), CancellationToken.None);
        await _writer.WriteAsync(Package() with { Title = "second" }, CancellationToken.None);

        var reports = Path.Combine(_store, "reports");
        Directory.GetFiles(reports).Should().HaveCount(3);
        File.ReadAllText(Path.Combine(reports, "run-1.md")).Should().StartWith("# second\n");
    }

    [Fact]
    public async Task A_script_markdown_template_replaces_the_markdown_report()
    {
        var path = WriteTemplate("handoff.md.sbn", "Custom {{ title }}: {{ data[\"Some Key\"] }} {{ data.camelCase }} {{ data.snake_case }}");
        var package = Package() with { TemplatePath = path };

        var markdownPath = await _writer.WriteAsync(package, CancellationToken.None);

        File.ReadAllText(markdownPath).Should().Be("Custom hello: 1 2 3");
        File.ReadAllText(Path.ChangeExtension(markdownPath, ".html")).Should().Be(_writer.Render(Package(), ReportFormat.Html, null));
    }

    [Theory]
    [InlineData("mine.html.sbn")]
    [InlineData("mine.HTML")]
    [InlineData("mine.htm")]
    public async Task A_script_html_template_replaces_the_html_report(string name)
    {
        var path = WriteTemplate(name, "<p>{{ title | html.escape }}</p>");
        var package = Package() with { TemplatePath = path };

        var markdownPath = await _writer.WriteAsync(package, CancellationToken.None);

        File.ReadAllText(Path.ChangeExtension(markdownPath, ".html")).Should().Be("<p>hello</p>");
        File.ReadAllText(markdownPath).Should().Be(_writer.Render(Package(), ReportFormat.Markdown, null));
    }

    [Theory]
    [InlineData("a.html.sbn", "Html")]
    [InlineData("a.htm.sbn", "Html")]
    [InlineData("/x/y/A.Html", "Html")]
    [InlineData("a.md.sbn", "Markdown")]
    [InlineData("a.sbn", "Markdown")]
    [InlineData("a.txt", "Markdown")]
    [InlineData("html.sbn", "Markdown")]
    public void The_template_name_picks_the_format(string name, string expected) =>
        ReportWriter.FormatOf(name).Should().Be(Enum.Parse<ReportFormat>(expected));

    [Fact]
    public void Render_prefers_an_explicit_template_then_the_package_template_then_the_built_in_one()
    {
        var own = WriteTemplate("own.md.sbn", "own");
        var other = WriteTemplate("other.sbn", "other");
        var package = Package() with { TemplatePath = own };

        _writer.Render(package, ReportFormat.Markdown, other).Should().Be("other");
        _writer.Render(package, ReportFormat.Markdown, null).Should().Be("own");
        _writer.Render(package, ReportFormat.Html, null).Should().StartWith("<!DOCTYPE html>");
    }

    [Fact]
    public void The_html_report_escapes_step_output_and_errors()
    {
        var package = Package() with
        {
            Steps =
            [
                Step("evil", null, RunStatus.Failed) with
                {
                    Output = new JsonObject { ["html"] = "<script>alert(1)</script>" },
                    Error = "<script>boom()</script>",
                },
            ],
            Title = "<script>title</script>",
            Data = new JsonObject { ["<b>key</b>"] = "<img src=x onerror=alert(1)>" },
        };

        var html = _writer.Render(package, ReportFormat.Html, null);

        html.Should().NotContain("<script").And.NotContain("<b>").And.NotContain("<img");
        html.Should().Contain("&lt;script&gt;alert(1)&lt;/script&gt;");
        html.Should().Contain("&lt;script&gt;boom()&lt;/script&gt;");
        html.Should().Contain("<title>&lt;script&gt;title&lt;/script&gt;</title>");
        html.Should().Contain("&lt;img src=x onerror=alert(1)&gt;");
    }

    [Fact]
    public void Data_keys_reach_templates_exactly_as_written()
    {
        var path = WriteTemplate("keys.md.sbn", "{{ for e in data }}{{ e.key }}={{ e.value }};{{ end }}|{{ data.nested[\"Inner-Key\"][0].x }}|{{ to_json data.nested }}");
        var package = Package() with
        {
            Data = JsonNode.Parse("""{"Some Key":1,"camelCase":2,"snake_case":3,"nested":{"Inner-Key":[{"x":1.50}]}}"""),
        };

        var text = _writer.Render(package, ReportFormat.Markdown, path);

        text.Should().StartWith("Some Key=1;camelCase=2;snake_case=3;nested={");
        text.Should().Contain("|1.50|");
        text.Should().EndWith("{\n  \"Inner-Key\": [\n    {\n      \"x\": 1.50\n    }\n  ]\n}");
    }

    [Fact]
    public void Data_built_in_code_converts_like_parsed_data()
    {
        var path = WriteTemplate("built.md.sbn", "{{ data.when }}|{{ data.id }}|{{ data.n + 1 }}|{{ data.ok }}");
        var package = Package() with
        {
            Data = new JsonObject
            {
                ["when"] = JsonValue.Create(new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc)),
                ["id"] = JsonValue.Create(Guid.Empty),
                ["n"] = JsonValue.Create(41.5m),
                ["ok"] = true,
            },
        };

        _writer.Render(package, ReportFormat.Markdown, path).Should().Be("2025-01-02T03:04:05Z|00000000-0000-0000-0000-000000000000|42.5|true");
    }

    [Fact]
    public void The_model_uses_snake_case_members_and_fixed_decimal_durations()
    {
        var path = WriteTemplate("model.md.sbn",
            "{{ run.id }}|{{ run.status }}|{{ run.script_name }}|{{ run.duration_ms | format_ms }}|{{ run.started_at }}|{{ run.ended_at }}|" +
            "{{ steps[1].parent_id }}|{{ steps[1].depth }}|{{ steps[1].duration_ms | format_ms }}|{{ failed_steps.size }}|{{ step_counts.failed }}|{{ generated_at }}|{{ data_is_flat }}");

        var text = _writer.Render(Package(), ReportFormat.Markdown, path);

        text.Should().Be("run-1|failed|flow.csx|2500.0|2025-03-14T09:00:00.000Z|2025-03-14T09:00:02.500Z|build|1|1234.5|2|2|2025-03-14T09:00:00.000Z|true");
    }

    [Fact]
    public void Durations_ignore_the_current_culture()
    {
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
        try
        {
            var path = WriteTemplate("culture.md.sbn", "{{ steps[1].duration_ms | format_ms }} {{ 1.5 }} {{ data.ratio }}");
            var package = Package() with { Data = new JsonObject { ["ratio"] = 0.25 } };

            _writer.Render(package, ReportFormat.Markdown, path).Should().Be("1234.5 1.5 0.25");
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void Big_reports_are_neither_truncated_nor_stopped_by_the_default_loop_limit()
    {
        var steps = Enumerable.Range(0, 5_000).Select(i => Step("s" + i, null, RunStatus.Succeeded)).ToList();
        var big = new string('x', 2_000_000);
        var package = Package() with { Steps = steps, Data = new JsonObject { ["blob"] = big } };

        var markdown = _writer.Render(package, ReportFormat.Markdown, null);

        markdown.Should().Contain("| s4999 |").And.Contain(big);
    }

    [Fact]
    public void The_loop_limit_still_stops_runaway_templates()
    {
        var path = WriteTemplate("runaway.md.sbn", "{{ for i in 1..10000000 }}{{ end }}");

        var render = () => _writer.Render(Package(), ReportFormat.Markdown, path);

        render.Should().Throw<TemplateException>().WithMessage($"{path}(1,*): error: *LoopLimit*");
    }

    [Fact]
    public void Runaway_recursion_is_a_template_error()
    {
        var path = WriteTemplate("recursion.md.sbn", "{{ func f(x); ret f(x); end; f(1) }}");

        var render = () => _writer.Render(Package(), ReportFormat.Markdown, path);

        render.Should().Throw<TemplateException>().WithMessage($"{path}(1,*): error: *recursive*");
    }

    [Fact]
    public void To_json_of_a_cyclic_value_is_a_template_error()
    {
        var path = WriteTemplate("cycle.md.sbn", "{{ a = {}; a.self = a; to_json a }}");

        var render = () => _writer.Render(Package(), ReportFormat.Markdown, path);

        render.Should().Throw<TemplateException>().WithMessage($"{path}(1,*): error: *nested more than*");
    }

    [Fact]
    public void Include_is_not_available_to_templates()
    {
        var path = WriteTemplate("include.md.sbn", "{{ include 'other.sbn' }}");

        var render = () => _writer.Render(Package(), ReportFormat.Markdown, path);

        render.Should().Throw<TemplateException>().WithMessage($"{path}(1,*): error: *");
    }

    [Fact]
    public void The_readme_example_renders()
    {
        var path = WriteTemplate("release.md.sbn", """
            # {{ title }} ({{ run.status }}, {{ run.duration_ms | format_ms }} ms)
            {{ for pr in data.prs }}
            - #{{ pr.number }} {{ pr.title | md_escape }}
            {{ end }}
            """);
        var package = Package() with { Data = JsonNode.Parse("""{"prs":[{"number":7,"title":"Fix a|b"}]}""") };

        var text = _writer.Render(package, ReportFormat.Markdown, path);

        text.Should().Contain("# hello (failed, 2500.0 ms)").And.Contain("- #7 Fix a\\|b");
    }

    [Fact]
    public void The_package_round_trips_through_json()
    {
        var package = Package();

        var copy = HandoffPackageJson.Deserialize(HandoffPackageJson.Serialize(package));

        copy.Run.Should().BeEquivalentTo(package.Run, o => o.Excluding(r => r.Input).Excluding(r => r.Result));
        copy.Steps.Should().HaveCount(2);
        copy.Steps[1].Should().BeEquivalentTo(package.Steps[1], o => o.Excluding(s => s.Input).Excluding(s => s.Output));
        JsonNode.DeepEquals(copy.Data, package.Data).Should().BeTrue();
        copy.Title.Should().Be("hello");
        copy.TemplatePath.Should().BeNull();
    }

    [Fact]
    public void A_package_without_a_run_does_not_deserialize()
    {
        var read = () => HandoffPackageJson.Deserialize("""{"steps":[],"data":null,"title":"x"}""");

        read.Should().Throw<System.Text.Json.JsonException>().WithMessage("*run*");
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("..")]
    public async Task A_run_id_that_is_not_a_file_name_is_refused(string runId)
    {
        var write = () => _writer.WriteAsync(Package() with { Run = Package().Run with { Id = runId } }, CancellationToken.None);

        await write.Should().ThrowAsync<ArgumentException>();
    }

    private string WriteTemplate(string name, string text)
    {
        var path = Path.Combine(_store, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_custom_template_sets_its_own_limits_in_its_front_matter_and_a_bad_one_is_named()
    {
        const string Loop = "{{ n = 0; for i in 1..150000; n = n + 1; end; n }}";
        var raised = Path.Combine(_store, "raised.md.sbn");
        File.WriteAllText(raised, "+++\nloop_limit = 200000\n+++\n" + Loop);
        var plain = Path.Combine(_store, "plain.md.sbn");
        File.WriteAllText(plain, Loop);
        var bad = Path.Combine(_store, "bad.md.sbn");
        File.WriteAllText(bad, "+++\nloop_limit = \"many\"\n+++\n" + Loop);

        _writer.Render(Package(), ReportFormat.Markdown, raised).Trim().Should().Be("150000");
        var past = () => _writer.Render(Package(), ReportFormat.Markdown, plain);
        past.Should().Throw<TemplateException>().WithMessage($"{plain}(1,*): error: *LoopLimit*");
        var wrong = () => _writer.Render(Package(), ReportFormat.Markdown, bad);
        wrong.Should().Throw<TemplateException>().WithMessage($"{bad}*loop_limit must be a whole number*");
    }

    private static HandoffPackage Package()
    {
        var run = new RunRecord
        {
            Id = "run-1",
            Script = "/scripts/flow.csx",
            ScriptHash = "abc",
            Language = "csharp",
            EngineVersion = "0.1.0",
            Status = RunStatus.Failed,
            Error = "build/test failed",
            StartedAt = Start,
            EndedAt = Start.AddMilliseconds(2500),
        };
        return new HandoffPackage(
            run,
            [Step("build", null, RunStatus.Failed), Step("build/test", "build", RunStatus.Failed) with { EndedAt = Start.AddMilliseconds(1234.5), Error = "exit 1" }],
            new JsonObject { ["Some Key"] = 1, ["camelCase"] = 2, ["snake_case"] = 3 },
            null,
            "hello");
    }

    private static StepRecord Step(string id, string? parent, RunStatus status) => new()
    {
        RunId = "run-1",
        Id = id,
        ParentId = parent,
        Name = id[(id.LastIndexOf('/') + 1)..],
        Kind = "step",
        Status = status,
        Attempt = 1,
        StartedAt = Start,
        EndedAt = Start.AddMilliseconds(100),
    };
}
