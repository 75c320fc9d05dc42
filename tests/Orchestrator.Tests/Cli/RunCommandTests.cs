using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Cli;

public sealed class RunCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string Store => Path.Combine(_dir.Path, "store");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Hello_csx_runs_end_to_end_and_writes_its_report()
    {
        var result = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, "hello.csx"), "--store", Store, "--json", "--input", """{"name":"ci"}""");

        result.ExitCode.Should().Be(0, result.ToString());
        var json = JsonNode.Parse(result.LastLine)!;
        json["status"]!.GetValue<string>().Should().Be("succeeded");
        json["steps"]!.GetValue<int>().Should().BeGreaterThan(3);
        json["result"]!["greeting"]!.GetValue<string>().Should().Be("hello, ci");
        File.Exists(json["report"]!.GetValue<string>()).Should().BeTrue();
        File.ReadAllText(json["report"]!.GetValue<string>()).Should().Contain(json["runId"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_new_run_points_at_the_newest_unfinished_run_of_the_same_script_only()
    {
        var script = _dir.Write("again.csx", "return 1;\n");
        var other = _dir.Write("other.csx", "return 2;\n");
        var started = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await using (var journal = SqliteJournal.Open(Store))
        {
            // No host recorded, so no live process can be running these: they count as interrupted.
            await Start("cancelled", script, 0);
            await journal.EndRunAsync("cancelled", RunStatus.Cancelled, null, "cancelled", started.AddMinutes(1), default);
            await Start("interrupted", script, 2);
            await Start("finished", script, 3);
            await journal.EndRunAsync("finished", RunStatus.Succeeded, null, null, started.AddMinutes(4), default);
            await Start("other-script", other, 5);

            ValueTask Start(string id, string path, int minute) => journal.StartRunAsync(
                new RunRecord { Id = id, Script = path, ScriptHash = "h", Language = "csharp", EngineVersion = "1", StartedAt = started.AddMinutes(minute) }, default);
        }

        var result = await CliRunner.RunAsync("run", script, "--store", Store);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stderr.Should().Contain("note: 2 earlier run(s) of this script did not finish").And.Contain("orchestrator resume interrupted");
    }

    [Fact]
    public async Task A_journal_it_cannot_read_exits_2_with_one_line_and_is_left_as_it_was()
    {
        await using (SqliteJournal.Open(Store))
        {
        }

        await SetJournalFormatAsync("99");

        var result = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, "hello.csx"), "--store", Store);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle()
            .Which.Should().Contain("cannot open the store").And.Contain("journal format 99 is newer");
        (await SetJournalFormatAsync(null)).Should().Be("99", "a journal the engine cannot read is never touched");
    }

    /// <summary>Sets the journal's recorded format (null: leaves it) and returns what it is now.</summary>
    private async Task<string?> SetJournalFormatAsync(string? format)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(Store, "journal.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = format is null
            ? "SELECT value FROM meta WHERE key = 'format_version'"
            : $"UPDATE meta SET value = '{format}' WHERE key = 'format_version'; SELECT value FROM meta WHERE key = 'format_version'";
        return (string?)await command.ExecuteScalarAsync();
    }

    [Fact]
    public async Task A_csx_compile_error_exits_2_naming_file_line_and_column()
    {
        var script = _dir.Write("broken.csx", "var a = 1;\nvar b = a +;\n");

        var result = await CliRunner.RunAsync("run", script, "--store", Store);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().MatchRegex(@"broken\.csx\(2,\d+\): error CS\d{4}: ");
    }

    [Fact]
    public async Task A_js_syntax_error_exits_2_naming_file_and_line()
    {
        var script = _dir.Write("broken.js", "const a = 1;\nconst b = a +;\n");

        var result = await CliRunner.RunAsync("run", script, "--store", Store);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("broken.js").And.MatchRegex(@"broken\.js[(:]2");
    }

    [Fact]
    public async Task An_exception_in_a_script_exits_1_naming_the_script_line_and_keeps_earlier_steps()
    {
        var script = _dir.Write("throws.csx", "await Agent(\"shell\").RunAsync(new { command = \"true\" });\nthrow new Exception(\"boom\");\n");

        var result = await CliRunner.RunAsync("run", script, "--store", Store, "--json");

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain("throws.csx(2): boom");
        var runId = JsonNode.Parse(result.LastLine)!["runId"]!.GetValue<string>();
        var shown = await CliRunner.RunAsync("runs", "show", runId, "--store", Store);
        shown.ExitCode.Should().Be(0, shown.ToString());
        shown.Stdout.Should().Contain("shell").And.Contain("succeeded").And.Contain("failed");
    }

    [Fact]
    public async Task An_unknown_agent_exits_1_and_lists_the_known_agents()
    {
        var script = _dir.Write("unknown.js", "await agent(\"teleport\").run({});\n");

        var result = await CliRunner.RunAsync("run", script, "--store", Store);

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain("unknown agent 'teleport'").And.Contain("http").And.Contain("shell");
    }

    [Fact]
    public async Task A_missing_script_exits_2()
    {
        var result = await CliRunner.RunAsync("run", Path.Combine(_dir.Path, "nope.csx"), "--store", Store);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("script not found").And.Contain("nope.csx");
    }

    [Fact]
    public async Task An_unknown_option_exits_2()
    {
        var result = await CliRunner.RunAsync("run", "x.csx", "--frobnicate");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("--frobnicate");
    }

    [Fact]
    public async Task Invalid_input_json_exits_2()
    {
        var result = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, "hello.csx"), "--store", Store, "--input", "{not json");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("--input: invalid JSON");
    }

    [Fact]
    public async Task Runs_lists_every_run_after_failures_of_every_kind()
    {
        var ok = _dir.Write("ok.csx", "return 1;");
        var throws = _dir.Write("throws.js", "throw new Error('no');");
        var broken = _dir.Write("broken.csx", "var = ;");
        (await CliRunner.RunAsync("run", ok, "--store", Store)).ExitCode.Should().Be(0);
        (await CliRunner.RunAsync("run", throws, "--store", Store)).ExitCode.Should().Be(1);
        (await CliRunner.RunAsync("run", broken, "--store", Store)).ExitCode.Should().Be(2);

        var runs = await CliRunner.RunAsync("runs", "--store", Store);

        runs.ExitCode.Should().Be(0, runs.ToString());
        var lines = runs.Stdout.Trim().Split('\n');
        lines.Should().HaveCount(3, "a header and the two runs that started; a script that does not compile never starts a run");
        lines[1].Should().Contain("succeeded").And.Contain("ok.csx");
        lines[2].Should().Contain("failed").And.Contain("throws.js");
    }

    [Fact]
    public async Task Report_renders_a_past_run_again_in_both_formats()
    {
        var run = await CliRunner.RunAsync("run", Path.Combine(RepoPaths.Scripts, "hello.js"), "--store", Store, "--json");
        var runId = JsonNode.Parse(run.LastLine)!["runId"]!.GetValue<string>();

        var md = await CliRunner.RunAsync("report", runId, "--store", Store);
        var html = await CliRunner.RunAsync("report", runId, "--store", Store, "--format", "html", "--out", Path.Combine(_dir.Path, "r.html"));

        md.ExitCode.Should().Be(0, md.ToString());
        md.Stdout.Should().Contain(runId).And.Contain("facts/kernel");
        html.ExitCode.Should().Be(0, html.ToString());
        File.ReadAllText(Path.Combine(_dir.Path, "r.html")).Should().Contain("<html").And.Contain(runId);
    }

    [Fact]
    public async Task Report_with_a_template_that_does_not_parse_exits_2_naming_the_line()
    {
        var run = await CliRunner.RunAsync("run", _dir.Write("one.csx", "return 1;"), "--store", Store, "--json");
        var runId = JsonNode.Parse(run.LastLine)!["runId"]!.GetValue<string>();
        var template = _dir.Write("bad.sbn", "ok\n{{ for x in }}\n");

        var result = await CliRunner.RunAsync("report", runId, "--store", Store, "--template", template);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("bad.sbn(2,");
    }
}

/// <summary>Scripts that are no scripts get one line and exit code 2, never a stack trace or a page of compiler errors.</summary>
public sealed class BadScriptTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("empty", "the script is empty")]
    [InlineData("comments", "the script is empty")]
    [InlineData("binary", "not a script: the file is binary")]
    [InlineData("latin1", "not a script: the file is not UTF-8 text")]
    [InlineData("folder", "a folder, not a script")]
    public async Task A_script_that_is_not_one_is_refused_in_one_line_with_exit_code_2(string kind, string message)
    {
        var script = Path.Combine(_dir.Path, kind + ".csx");
        switch (kind)
        {
            case "empty":
                File.WriteAllText(script, "");
                break;
            case "comments":
                File.WriteAllText(script, "// a workflow, one day\n/* not yet */\n");
                break;
            case "binary":
                File.WriteAllBytes(script, [0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04]);
                break;
            case "latin1":
                File.WriteAllBytes(script, [0x72, 0x65, 0x74, 0x75, 0x72, 0x6e, 0x20, 0xe9, 0xff, 0x3b]);
                break;
            default:
                Directory.CreateDirectory(script);
                break;
        }

        var result = await CliRunner.RunAsync("run", script, "--store", Path.Combine(_dir.Path, "store"), "--no-host");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().Contain(script).And.Contain(message);
        result.ToString().Should().NotContain("Unhandled exception");
    }

    [Fact]
    public async Task A_plugins_folder_that_does_not_exist_is_bad_input_naming_it()
    {
        var script = _dir.Write("one.csx", "return 1;");
        var missing = Path.Combine(_dir.Path, "no-such-plugins");

        var result = await CliRunner.RunAsync("run", script, "--store", Path.Combine(_dir.Path, "store"), "--plugins", missing);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"--plugins {missing}: no such folder");
        Directory.Exists(Path.Combine(_dir.Path, "store")).Should().BeFalse("nothing ran");
    }

    [Fact]
    public async Task Report_out_to_a_missing_folder_or_to_a_folder_is_one_line_and_exit_code_2()
    {
        var store = Path.Combine(_dir.Path, "store");
        var run = await CliRunner.RunAsync("run", _dir.Write("one.csx", "return 1;"), "--store", store, "--json", "--no-host");
        var id = System.Text.Json.Nodes.JsonNode.Parse(run.LastLine)!["runId"]!.GetValue<string>();

        foreach (var (target, message) in new[] { (Path.Combine(_dir.Path, "missing", "r.md"), "does not exist"), (_dir.Path, "a folder, not a file") })
        {
            var result = await CliRunner.RunAsync("report", id, "--store", store, "--out", target);
            result.ExitCode.Should().Be(2, result.ToString());
            result.Stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().Contain($"--out {target}").And.Contain(message);
        }
    }

    [Fact]
    public async Task A_script_with_hundreds_of_compiler_errors_prints_the_first_twenty_and_counts_the_rest()
    {
        var script = _dir.Write("noise.csx", string.Concat(Enumerable.Repeat("undefined_name();\n", 300)));

        var result = await CliRunner.RunAsync("run", script, "--store", Path.Combine(_dir.Path, "store"), "--no-host");

        result.ExitCode.Should().Be(2, result.ToString());
        var lines = result.Stderr.Trim().Split('\n');
        lines.Should().HaveCount(21);
        lines[^1].Should().Be("… and 280 more errors");
    }
}
