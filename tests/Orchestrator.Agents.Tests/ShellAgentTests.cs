using System.Runtime.Versioning;
using System.Text.Json.Nodes;
using Orchestrator.Agents.Shell;
using static Orchestrator.Agents.Tests.TestSupport;

namespace Orchestrator.Agents.Tests;

// Real child processes through /bin/sh and coreutils, and process state from /proc: Linux only.
[SupportedOSPlatform("linux")]
public sealed class ShellAgentTests
{
    private readonly ShellAgent _agent = new();

    private static JsonArray Args(params string[] args) => new(args.Select(a => (JsonNode?)a).ToArray());

    [Fact]
    public void Kind_is_shell() => _agent.Kind.Should().Be("shell");

    [Fact]
    public void Each_command_and_each_script_is_a_circuit_target_of_its_own()
    {
        _agent.TargetOf(TaskOf(new JsonObject { ["command"] = "git", ["args"] = Args("status") })).Should().Be("git");
        _agent.TargetOf(TaskOf(new JsonObject { ["script"] = "make test" })).Should().Be("make test");
        var longScript = new string('x', 200);
        _agent.TargetOf(TaskOf(new JsonObject { ["script"] = longScript })).Should().StartWith(new string('x', 60) + "…").And.HaveLength(69);
        _agent.TargetOf(TaskOf((JsonNode?)null)).Should().BeNull("a task without a command is the agent's as a whole");
    }

    [Fact]
    public async Task Successful_command_reports_exit_code_zero_stdout_stderr_and_duration()
    {
        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["script"] = "echo out; echo err 1>&2" }), default);

        result.Success.Should().BeTrue();
        result.Error.Should().BeNull();
        var output = result.Output!.AsObject();
        output["exitCode"]!.GetValue<int>().Should().Be(0);
        output["stdout"]!.GetValue<string>().Should().Be("out\n");
        output["stderr"]!.GetValue<string>().Should().Be("err\n");
        output["durationMs"]!.GetValue<double>().Should().BeGreaterThanOrEqualTo(0);
        output.Select(p => p.Key).Should().BeEquivalentTo("exitCode", "stdout", "stderr", "durationMs");
    }

    [Fact]
    public async Task Args_are_passed_verbatim_without_shell_expansion_or_quoting()
    {
        var input = new JsonObject { ["command"] = "printf", ["args"] = Args("[%s]", "a b", "$HOME", "'q' \"d\"", "*", "") };

        var result = await _agent.RunAsync(TaskOf(input), default);

        result.Success.Should().BeTrue();
        result.Output!["stdout"]!.GetValue<string>().Should().Be("[a b][$HOME]['q' \"d\"][*][]");
    }

    [Fact]
    public async Task Non_zero_exit_fails_with_exit_code_and_first_stderr_line_and_keeps_the_output()
    {
        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["script"] = "echo hi; echo err 1>&2; echo more 1>&2; exit 3" }), default);

        result.Success.Should().BeFalse();
        result.Error.Should().Be("shell script exited with code 3: err");
        result.Output!["exitCode"]!.GetValue<int>().Should().Be(3);
        result.Output["stdout"]!.GetValue<string>().Should().Be("hi\n");
        result.Output["stderr"]!.GetValue<string>().Should().Be("err\nmore\n");
    }

    [Fact]
    public async Task Failing_command_is_named_by_its_program_in_the_error()
    {
        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["command"] = "sh", ["args"] = Args("-c", "exit 7") }), default);

        result.Success.Should().BeFalse();
        result.Error.Should().Be("sh exited with code 7");
        result.Output!["exitCode"]!.GetValue<int>().Should().Be(7);
    }

    [Fact]
    public async Task Error_detail_falls_back_to_the_first_non_blank_stdout_line_when_stderr_is_empty()
    {
        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["script"] = "echo; echo '   out line  '; echo two; exit 5" }), default);

        result.Error.Should().Be("shell script exited with code 5: out line");
    }

    [Fact]
    public async Task Error_detail_is_trimmed_and_shortened_to_about_200_characters()
    {
        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["script"] = "printf '   %0300d  \\nsecond\\n' 0 1>&2; exit 1" }), default);

        var prefix = "shell script exited with code 1: ";
        result.Error.Should().StartWith(prefix + "0000").And.EndWith("…");
        result.Error!.Length.Should().Be(prefix.Length + 200 + 1);
        result.Output!["stderr"]!.GetValue<string>().Should().Contain("second");
    }

    [Fact]
    public async Task Script_supports_pipes_and_shell_syntax()
    {
        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["script"] = "printf 'b\\na\\nc\\n' | sort | tr '\\n' ,; x=$((2+3)); echo \" $x\"" }), default);

        result.Success.Should().BeTrue();
        result.Output!["stdout"]!.GetValue<string>().Should().Be("a,b,c, 5\n");
    }

    [Fact]
    public async Task Stdin_is_piped_to_the_process()
    {
        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["command"] = "cat", ["stdin"] = "line 1\nligne 2 é\n" }), default);

        result.Success.Should().BeTrue();
        result.Output!["stdout"]!.GetValue<string>().Should().Be("line 1\nligne 2 é\n");
    }

    [Fact]
    public async Task Without_stdin_the_process_reads_end_of_input_instead_of_hanging()
    {
        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["command"] = "cat", ["timeoutMs"] = 20_000 }), default);

        result.Success.Should().BeTrue();
        result.Output!["stdout"]!.GetValue<string>().Should().BeEmpty();
    }

    [Fact]
    public async Task Stdin_that_the_process_never_reads_does_not_fail_the_run()
    {
        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["command"] = "true", ["stdin"] = new string('x', 1_000_000) }), default);

        result.Success.Should().BeTrue();
        result.Output!["exitCode"]!.GetValue<int>().Should().Be(0);
    }

    [Fact]
    public async Task Env_is_added_to_the_inherited_environment()
    {
        var input = new JsonObject { ["command"] = "env", ["env"] = new JsonObject { ["ORCH_AGENT_TEST"] = "a value=with equals" } };

        var result = await _agent.RunAsync(TaskOf(input), default);

        result.Success.Should().BeTrue();
        var lines = result.Output!["stdout"]!.GetValue<string>().Split('\n');
        lines.Should().Contain("ORCH_AGENT_TEST=a value=with equals");
        lines.Should().Contain(l => l.StartsWith("PATH=", StringComparison.Ordinal), "the rest of the environment is inherited");
    }

    [Fact]
    public async Task Env_null_value_unsets_an_inherited_variable()
    {
        Environment.GetEnvironmentVariable("HOME").Should().NotBeNull("the test needs an inherited variable to unset");
        var input = new JsonObject { ["script"] = "echo \"${HOME-unset}\"", ["env"] = new JsonObject { ["HOME"] = null } };

        var result = await _agent.RunAsync(TaskOf(input), default);

        result.Output!["stdout"]!.GetValue<string>().Should().Be("unset\n");
    }

    [Fact]
    public async Task Env_values_never_appear_in_error_messages()
    {
        const string secret = "s3cr3t-t0ken-value";

        var failed = await _agent.RunAsync(TaskOf(new JsonObject { ["script"] = "exit 4", ["env"] = new JsonObject { ["API_TOKEN"] = secret } }), default);
        var badType = await _agent.RunAsync(TaskOf(new JsonObject { ["command"] = "true", ["env"] = new JsonObject { ["API_TOKEN"] = new JsonArray(secret) } }), default);
        var timedOut = await _agent.RunAsync(TaskOf(new JsonObject { ["command"] = "sleep", ["args"] = Args("30"), ["timeoutMs"] = 100, ["env"] = new JsonObject { ["API_TOKEN"] = secret } }), default);

        failed.Error.Should().Be("shell script exited with code 4");
        badType.Success.Should().BeFalse();
        badType.Error.Should().Contain("API_TOKEN").And.NotContain(secret);
        timedOut.Success.Should().BeFalse();
        timedOut.Error.Should().NotContain(secret);
    }

    [Fact]
    public async Task Cwd_sets_the_working_directory()
    {
        using var dir = new TempDir();

        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["command"] = "pwd", ["cwd"] = dir.Path }), default);

        result.Success.Should().BeTrue();
        result.Output!["stdout"]!.GetValue<string>().TrimEnd('\n').Should().Be(dir.Path);
    }

    [Fact]
    public async Task Relative_command_path_is_resolved_against_cwd()
    {
        using var dir = new TempDir();
        var script = dir.File("hello.sh");
        await File.WriteAllTextAsync(script, "#!/bin/sh\necho \"hello from $(pwd)\"\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["command"] = "./hello.sh", ["cwd"] = dir.Path }), default);

        result.Success.Should().BeTrue(result.Error);
        result.Output!["stdout"]!.GetValue<string>().Should().Be($"hello from {dir.Path}\n");
    }

    [Fact]
    public async Task Missing_cwd_fails_with_a_clear_message()
    {
        using var dir = new TempDir();
        var missing = dir.File("nope");

        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["command"] = "pwd", ["cwd"] = missing }), default);

        result.Success.Should().BeFalse();
        result.Error.Should().Be($"shell: working directory '{missing}' does not exist.");
    }

    [Fact]
    public async Task Program_that_does_not_exist_fails_with_a_clear_message_instead_of_throwing()
    {
        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["command"] = "orch-no-such-program-xyz" }), default);

        result.Success.Should().BeFalse();
        result.Error.Should().Be("orch-no-such-program-xyz could not be started: no such program (not found on PATH, or the path does not exist)");
        result.Output.Should().BeNull();
    }

    [Fact]
    public async Task File_that_is_not_executable_fails_with_a_clear_message()
    {
        using var dir = new TempDir();
        var file = dir.File("data.txt");
        await File.WriteAllTextAsync(file, "not a program");

        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["command"] = file }), default);

        result.Success.Should().BeFalse();
        result.Error.Should().Be($"{file} could not be started: permission denied (is it executable?)");
    }

    [Fact]
    public async Task Timeout_fails_with_a_clear_message_and_flags_the_output()
    {
        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["command"] = "sleep", ["args"] = Args("30"), ["timeoutMs"] = 200 }), default);

        result.Success.Should().BeFalse();
        result.Error.Should().Be("sleep timed out after 200 ms");
        result.Output!["timedOut"]!.GetValue<bool>().Should().BeTrue();
        result.Output.AsObject().ContainsKey("exitCode").Should().BeFalse();
    }

    [Fact]
    public async Task Timeout_kills_the_whole_process_tree()
    {
        using var dir = new TempDir();
        var shPid = dir.File("sh.pid");
        var childPid = dir.File("child.pid");

        // The shell's own child (sleep) proves that the tree is killed, not only the direct child.
        var input = new JsonObject
        {
            ["command"] = "sh",
            ["args"] = Args("-c", "echo $$ > \"$0.tmp\" && mv \"$0.tmp\" \"$0\"; sleep 30 & echo $! > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"; wait", shPid, childPid),
            ["timeoutMs"] = 1000,
        };

        var result = await _agent.RunAsync(TaskOf(input), default);

        result.Success.Should().BeFalse();
        result.Error.Should().Be("sh timed out after 1000 ms");
        File.Exists(childPid).Should().BeTrue("the script must have started its child before the timeout");
        (await EventuallyAsync(() => !IsRunning(ReadPid(shPid)))).Should().BeTrue("the shell must be killed");
        (await EventuallyAsync(() => !IsRunning(ReadPid(childPid)))).Should().BeTrue("the shell's child must be killed too");
    }

    [Fact]
    public async Task Cancellation_kills_the_process_tree_and_throws_OperationCanceledException()
    {
        using var dir = new TempDir();
        var shPid = dir.File("sh.pid");
        var childPid = dir.File("child.pid");
        var marker = dir.File("started");
        var input = new JsonObject
        {
            ["script"] = $"echo $$ > '{shPid}'; sleep 30 & echo $! > '{childPid}'; touch '{marker}'; wait",
        };
        using var cts = new CancellationTokenSource();

        var run = _agent.RunAsync(TaskOf(input), cts.Token).AsTask();
        (await EventuallyAsync(() => File.Exists(marker) || run.IsCompleted)).Should().BeTrue();
        run.IsCompleted.Should().BeFalse();
        var pids = new[] { ReadPid(shPid), ReadPid(childPid) };
        pids.Should().OnlyContain(pid => IsRunning(pid), "both processes run before the cancellation");

        await cts.CancelAsync();

        var thrown = await run.Awaiting(t => t).Should().ThrowAsync<OperationCanceledException>();
        thrown.Which.CancellationToken.Should().Be(cts.Token);
        foreach (var pid in pids)
        {
            (await EventuallyAsync(() => !IsRunning(pid))).Should().BeTrue($"process {pid} must be killed");
        }
    }

    [Fact]
    public async Task Already_cancelled_token_throws_without_running_anything()
    {
        using var dir = new TempDir();
        var marker = dir.File("ran");

        var act = () => _agent.RunAsync(TaskOf(new JsonObject { ["command"] = "touch", ["args"] = Args(marker) }), new CancellationToken(canceled: true)).AsTask();

        await act.Should().ThrowAsync<OperationCanceledException>();
        File.Exists(marker).Should().BeFalse();
    }

    [Fact]
    public async Task Huge_output_is_capped_and_flagged_as_truncated()
    {
        var result = await _agent.RunAsync(TaskOf(new JsonObject { ["script"] = "head -c 5000000 /dev/zero | tr '\\0' a" }), default);

        result.Success.Should().BeTrue();
        result.Output!["stdout"]!.GetValue<string>().Length.Should().Be(4 * 1024 * 1024);
        result.Output["stdoutTruncated"]!.GetValue<bool>().Should().BeTrue();
        result.Output.AsObject().ContainsKey("stderrTruncated").Should().BeFalse();
    }

    [Fact]
    public async Task Concurrent_runs_on_one_instance_keep_their_own_output()
    {
        var runs = Enumerable.Range(0, 8)
            .Select(i => _agent.RunAsync(TaskOf(new JsonObject { ["command"] = "echo", ["args"] = Args($"run {i}") }), default).AsTask())
            .ToArray();

        var results = await Task.WhenAll(runs);

        results.Select(r => r.Output!["stdout"]!.GetValue<string>())
            .Should().Equal(Enumerable.Range(0, 8).Select(i => $"run {i}\n"));
    }

    [Fact]
    public async Task Input_built_in_code_with_integer_timeout_is_accepted()
    {
        // JsonValue.Create(int) rather than parsed JSON: the engine may hand either kind of node.
        var input = new JsonObject { ["command"] = "echo", ["args"] = Args("ok"), ["timeoutMs"] = JsonValue.Create(20_000L) };

        var result = await _agent.RunAsync(TaskOf(input), default);

        result.Success.Should().BeTrue(result.Error);
    }

    [Theory]
    [InlineData("null", "shell: input must be a JSON object")]
    [InlineData("[1]", "shell: input must be a JSON object")]
    [InlineData("{}", "shell: input needs exactly one of 'command' (a program) or 'script'")]
    [InlineData("""{"command":"echo","script":"echo"}""", "shell: input needs exactly one of")]
    [InlineData("""{"command":"  "}""", "shell: 'command' must not be empty.")]
    [InlineData("""{"command":42}""", "shell: 'command' must be a string.")]
    [InlineData("""{"command":"echo","args":"a b"}""", "shell: 'args' must be an array of strings.")]
    [InlineData("""{"command":"echo","args":["a",1]}""", "shell: 'args' must be an array of strings; item 1 is not a string.")]
    [InlineData("""{"script":"echo","args":["a"]}""", "shell: 'args' goes with 'command'")]
    [InlineData("""{"command":"echo","env":["A=1"]}""", "shell: 'env' must be an object of string values.")]
    [InlineData("""{"command":"echo","env":{"A=B":"1"}}""", "shell: 'env' has an invalid variable name")]
    [InlineData("""{"command":"echo","env":{"PORT":8080}}""", "shell: 'env.PORT' must be a string")]
    [InlineData("""{"command":"echo","stdin":{"a":1}}""", "shell: 'stdin' must be a string.")]
    [InlineData("""{"command":"echo","cwd":7}""", "shell: 'cwd' must be a string.")]
    [InlineData("""{"command":"echo","timeoutMs":"100"}""", "shell: 'timeoutMs' must be a number of milliseconds.")]
    [InlineData("""{"command":"echo","timeoutMs":0}""", "shell: 'timeoutMs' must be between 1 and")]
    [InlineData("""{"command":"echo","timeoutMs":-5}""", "shell: 'timeoutMs' must be between 1 and")]
    public async Task Bad_input_fails_with_a_clear_message(string inputJson, string expectedErrorStart)
    {
        var result = await _agent.RunAsync(TaskOf(inputJson), default);

        result.Success.Should().BeFalse();
        result.Error.Should().StartWith(expectedErrorStart);
        result.Output.Should().BeNull();
    }
}
