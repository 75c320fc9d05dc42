using Orchestrator.Core.Journal;
using Orchestrator.Scripting.JavaScript;

namespace Orchestrator.Tests.JavaScript;

/// <summary>A script that never yields is stopped with a clear message, and the host (this test process) lives on.</summary>
public sealed class JavaScriptLimitsTests : IDisposable
{
    private readonly JsHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task An_infinite_loop_hits_the_statement_limit()
    {
        var run = await _h.RunAsync("await agent('echo').run(1);\nwhile (true) { }\n", options: new JavaScriptOptions { MaxStatements = 10_000 });

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().StartWith(run.ScriptPath).And.Contain("the script exceeded 10000 statements");
        await StillWorks();
    }

    [Fact]
    public async Task The_statement_limit_applies_to_each_stretch_between_steps()
    {
        // 3 x ~4000 statements in all, never more than the limit between two waits.
        var run = await _h.RunAsync("""
            let n = 0;
            for (let i = 0; i < 2000; i++) n++;
            await agent('echo').run(1);
            for (let i = 0; i < 2000; i++) n++;
            await agent('echo').run(2);
            for (let i = 0; i < 2000; i++) n++;
            return n;
            """, options: new JavaScriptOptions { MaxStatements = 5_000 });

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Result!.GetValue<int>().Should().Be(6000);
    }

    [Fact]
    public async Task Unbounded_recursion_hits_the_recursion_limit()
    {
        var run = await _h.RunAsync("""
            await agent('echo').run(1);
            function down(n) { return down(n + 1) + 1; }
            return down(0);
            """, options: new JavaScriptOptions { RecursionLimit = 64 });

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().StartWith(run.ScriptPath).And.Contain("the script exceeded the recursion limit of 64");
        await StillWorks();
    }

    [Fact]
    public async Task Recursion_within_the_limit_runs()
    {
        var run = await _h.RunAsync("function depth(n) { return n === 0 ? 0 : 1 + depth(n - 1); }\nreturn depth(50);",
            options: new JavaScriptOptions { RecursionLimit = 64 });

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Result!.GetValue<int>().Should().Be(50);
    }

    [Fact]
    public async Task The_stack_guard_turns_a_recursion_the_limit_allows_into_a_catchable_error()
    {
        // A limit far above what the native stack holds: without the guard this would kill the process.
        var run = await _h.RunAsync("""
            function down(n) { return down(n + 1) + 1; }
            try { down(0); } catch (e) { return e.name + ': ' + e.message; }
            """, options: new JavaScriptOptions { RecursionLimit = 10_000_000, MaxStatements = 100_000_000 });

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Result!.GetValue<string>().Should().Be("RangeError: Maximum call stack size exceeded");
        await StillWorks();
    }

    [Fact]
    public async Task Unbounded_allocation_hits_the_memory_limit()
    {
        var run = await _h.RunAsync("""
            await agent('echo').run(1);
            const hoard = [];
            while (true) { hoard.push('x'.repeat(10000) + hoard.length); }
            """, options: new JavaScriptOptions { MemoryLimitBytes = 32L * 1024 * 1024, MaxStatements = 100_000_000 });

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().StartWith(run.ScriptPath).And.Contain("the script exceeded its memory limit of 33554432 bytes");
        await StillWorks();
    }

    [Fact]
    public async Task A_script_that_computes_too_long_hits_the_timeout()
    {
        var run = await _h.RunAsync("while (true) { }", options: new JavaScriptOptions { Timeout = TimeSpan.FromMilliseconds(200), MaxStatements = int.MaxValue - 1 });

        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().StartWith(run.ScriptPath).And.Contain("without waiting on a step");
        await StillWorks();
    }

    [Fact]
    public async Task Cancelling_the_run_stops_a_busy_script()
    {
        using var cts = new CancellationTokenSource();
        var program = _h.Compile("await agent('echo').run(1);\nwhile (true) { }", new JavaScriptOptions { MaxStatements = int.MaxValue - 1 });

        var running = _h.RunAsync(program, cancellationToken: cts.Token);
        cts.CancelAfter(TimeSpan.FromMilliseconds(100));
        var run = await running;

        run.Run.Status.Should().Be(RunStatus.Cancelled);
    }

    [Theory]
    [InlineData(0, 1, 1L, 1)]
    [InlineData(1, 0, 1L, 1)]
    [InlineData(1, 1, 0L, 1)]
    [InlineData(1, 1, 1L, 0)]
    [InlineData(int.MaxValue, 1, 1L, 1)]
    public void Limits_must_be_real(int statements, int recursion, long memory, int timeoutMs)
    {
        var options = new JavaScriptOptions
        {
            MaxStatements = statements,
            RecursionLimit = recursion,
            MemoryLimitBytes = memory,
            Timeout = TimeSpan.FromMilliseconds(timeoutMs),
        };

        options.Invoking(o => o.Validate()).Should().Throw<ArgumentOutOfRangeException>();
        _h.Invoking(h => h.Compile("return 1;", options)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void The_defaults_are_the_documented_ones()
    {
        var options = JavaScriptOptions.Default;

        options.MaxStatements.Should().Be(10_000_000);
        options.RecursionLimit.Should().Be(256);
        options.StackGuard.Should().BeTrue();
        options.MemoryLimitBytes.Should().Be(256L * 1024 * 1024);
        options.Timeout.Should().Be(TimeSpan.FromMinutes(10));
        options.Invoking(o => o.Validate()).Should().NotThrow();
    }

    private async Task StillWorks()
    {
        var run = await _h.RunAsync("return await agent('echo').run('alive');");
        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        run.Result!.GetValue<string>().Should().Be("alive");
    }
}
