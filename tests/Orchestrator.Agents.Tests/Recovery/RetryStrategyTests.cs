using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Recovery.Retry;
using static Orchestrator.Agents.Tests.Recovery.RecoveryHarness;

namespace Orchestrator.Agents.Tests.Recovery;

public sealed class RetryStrategyTests
{
    private readonly RetryStrategy _strategy = new();

    [Fact]
    public void Is_named_retry() => _strategy.Name.Should().Be("retry");

    [Fact]
    public async Task Rescues_an_agent_that_fails_twice_after_exactly_the_exponential_delays_and_never_before()
    {
        var time = new RecordingTimeProvider();
        var start = time.GetUtcNow();
        var agent = ScriptedAgent.FailsThenSucceeds(2);
        var run = _strategy.TryRecoverAsync(Context(agent.RunAsync, """{"jitter":false}""", time), CancellationToken.None).AsTask();

        // The original attempt already failed: the first retry waits the base delay, and nothing runs before it is over.
        (await time.NextTimerAsync()).Should().Be(Ms(200));
        agent.CallCount.Should().Be(0);
        time.Advance(Ms(199));
        time.Fired.Should().Be(0);
        agent.CallCount.Should().Be(0);
        run.IsCompleted.Should().BeFalse();

        time.Advance(Ms(1));
        (await agent.NextCallAsync()).Task.Attempt.Should().Be(2);

        (await time.NextTimerAsync()).Should().Be(Ms(400));
        time.Advance(Ms(399));
        agent.CallCount.Should().Be(1);
        time.Advance(Ms(1));
        (await agent.NextCallAsync()).Task.Attempt.Should().Be(3);

        (await time.NextTimerAsync()).Should().Be(Ms(800));
        time.Advance(Ms(799));
        agent.CallCount.Should().Be(2);
        run.IsCompleted.Should().BeFalse();
        time.Advance(Ms(1));

        var result = await run.WaitAsync(Limit);
        result!.Success.Should().BeTrue();
        result.Output!.GetValue<string>().Should().Be("ok on attempt 4");
        agent.Attempts.Should().Equal(2, 3, 4);
        time.HasUnseenTimer.Should().BeFalse();
        (time.GetUtcNow() - start).Should().Be(Ms(1400));
    }

    [Fact]
    public async Task Each_retry_runs_the_same_agent_kind_with_the_same_input_and_counts_on_from_the_failed_attempt()
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.FailsThenSucceeds(1);
        var context = Context(agent.RunAsync, """{"jitter":false}""", time, attempt: 3, inputJson: """{"command":"make"}""");

        var (result, _) = await DriveAsync(_strategy.TryRecoverAsync(context, CancellationToken.None), time);

        result!.Success.Should().BeTrue();
        agent.Attempts.Should().Equal(4, 5);
        agent.Calls.Should().AllSatisfy(call =>
        {
            call.Kind.Should().Be(FailedKind);
            call.Task.RunId.Should().Be("run-1");
            call.Task.StepId.Should().Be("step-1");
            JsonNode.DeepEquals(call.Task.Input, JsonNode.Parse("""{"command":"make"}""")).Should().BeTrue();
        });
    }

    [Fact]
    public async Task Exhausting_max_attempts_returns_the_last_failure_naming_the_count_and_the_last_error()
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.AlwaysFails();
        var context = Context(agent.RunAsync, """{"maxAttempts":4,"delayMs":10,"jitter":false}""", time);

        var (result, delays) = await DriveAsync(_strategy.TryRecoverAsync(context, CancellationToken.None), time);

        result!.Success.Should().BeFalse();
        result.Error.Should().Be("retry: 4 attempts failed; last: boom 4");
        result.Output!.GetValue<int>().Should().Be(4, "the last failure's output is kept");
        result.Severity.Should().Be(Severity.Moderate, "the last failure's severity is kept");
        agent.Attempts.Should().Equal(2, 3, 4, 5);
        delays.Should().Equal(Ms(10), Ms(20), Ms(40), Ms(80));
    }

    [Fact]
    public async Task A_single_attempt_is_named_in_the_singular()
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.AlwaysFails();

        var (result, delays) = await DriveAsync(_strategy.TryRecoverAsync(Context(agent.RunAsync, """{"maxAttempts":1}""", time), CancellationToken.None), time);

        result!.Error.Should().Be("retry: 1 attempt failed; last: boom 1");
        delays.Should().HaveCount(1);
        agent.Attempts.Should().Equal(2);
    }

    [Fact]
    public async Task Without_options_it_makes_three_jittered_exponential_retries()
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.AlwaysFails();

        var (result, delays) = await DriveAsync(_strategy.TryRecoverAsync(Context(agent.RunAsync, null, time), CancellationToken.None), time);

        result!.Error.Should().Be("retry: 3 attempts failed; last: boom 3");
        agent.Attempts.Should().Equal(2, 3, 4);
        ShouldBeWithinExponentialJitterBounds(delays, baseMs: 200, maxMs: 30_000);
    }

    [Theory]
    [InlineData("linear", new double[] { 100, 200, 300, 400 })]
    [InlineData("constant", new double[] { 100, 100, 100, 100 })]
    [InlineData("exponential", new double[] { 100, 200, 400, 800 })]
    [InlineData("Linear", new double[] { 100, 200, 300, 400 })]
    public async Task Backoff_without_jitter_waits_exactly_the_computed_delays(string backoff, double[] expectedMs)
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.AlwaysFails();
        var options = $$"""{"backoff":"{{backoff}}","delayMs":100,"maxAttempts":4,"jitter":false}""";

        var (_, delays) = await DriveAsync(_strategy.TryRecoverAsync(Context(agent.RunAsync, options, time), CancellationToken.None), time);

        delays.Should().Equal(expectedMs.Select(Ms));
    }

    [Fact]
    public async Task Max_delay_caps_each_wait()
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.AlwaysFails();
        var options = """{"delayMs":1000,"maxDelayMs":3000,"maxAttempts":5,"jitter":false}""";

        var (_, delays) = await DriveAsync(_strategy.TryRecoverAsync(Context(agent.RunAsync, options, time), CancellationToken.None), time);

        delays.Should().Equal(Ms(1000), Ms(2000), Ms(3000), Ms(3000), Ms(3000));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task One_hundred_exponential_retries_stay_capped_without_overflow(bool jitter)
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.AlwaysFails();
        var options = $$"""{"maxAttempts":100,"delayMs":1000,"maxDelayMs":60000,"jitter":{{(jitter ? "true" : "false")}}}""";

        var (result, delays) = await DriveAsync(_strategy.TryRecoverAsync(Context(agent.RunAsync, options, time), CancellationToken.None), time);

        result!.Error.Should().Be("retry: 100 attempts failed; last: boom 100");
        agent.Attempts.Should().Equal(Enumerable.Range(2, 100));
        delays.Should().HaveCount(100).And.OnlyContain(d => d > TimeSpan.Zero && d <= Ms(60_000));
        delays[^1].Should().Be(Ms(60_000));
        if (!jitter)
        {
            delays.Take(7).Should().Equal(Ms(1000), Ms(2000), Ms(4000), Ms(8000), Ms(16_000), Ms(32_000), Ms(60_000));
        }
    }

    [Fact]
    public async Task Exponential_jitter_stays_within_pollys_bounds_and_varies()
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.AlwaysFails();
        var options = """{"delayMs":1000,"maxDelayMs":86400000,"maxAttempts":10}""";

        var (_, delays) = await DriveAsync(_strategy.TryRecoverAsync(Context(agent.RunAsync, options, time), CancellationToken.None), time);

        ShouldBeWithinExponentialJitterBounds(delays, baseMs: 1000, maxMs: 86_400_000);
        delays.Should().NotEqual(Enumerable.Range(0, 10).Select(t => Ms(1000 * Math.Pow(2, t))), "jitter moves the delays off the plain exponential series");
    }

    [Fact]
    public async Task Exponential_jitter_is_capped_by_max_delay()
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.AlwaysFails();
        var options = """{"delayMs":1000,"maxDelayMs":3000,"maxAttempts":12}""";

        var (_, delays) = await DriveAsync(_strategy.TryRecoverAsync(Context(agent.RunAsync, options, time), CancellationToken.None), time);

        delays.Should().HaveCount(12).And.OnlyContain(d => d > TimeSpan.Zero && d <= Ms(3000));
    }

    [Theory]
    [InlineData("constant")]
    [InlineData("linear")]
    public async Task Constant_and_linear_jitter_stay_within_a_quarter_of_the_delay(string backoff)
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.AlwaysFails();
        var options = $$"""{"backoff":"{{backoff}}","delayMs":1000,"maxDelayMs":86400000,"maxAttempts":20}""";

        var (_, delays) = await DriveAsync(_strategy.TryRecoverAsync(Context(agent.RunAsync, options, time), CancellationToken.None), time);

        delays.Should().HaveCount(20);
        var ratios = delays.Select((d, i) => d.TotalMilliseconds / (backoff == "constant" ? 1000.0 : 1000.0 * (i + 1))).ToList();
        ratios.Should().OnlyContain(r => r >= 0.75 && r <= 1.25, $"each {backoff} delay is within 25% of the plain one");
        ratios.Distinct().Should().HaveCountGreaterThan(1, "jitter varies the delays");
    }

    [Fact]
    public async Task A_zero_delay_retries_without_waiting()
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.FailsThenSucceeds(2);

        var result = await _strategy.TryRecoverAsync(Context(agent.RunAsync, """{"delayMs":0}""", time), CancellationToken.None).AsTask().WaitAsync(Limit);

        result!.Success.Should().BeTrue();
        agent.Attempts.Should().Equal(2, 3, 4);
        time.HasUnseenTimer.Should().BeFalse();
    }

    [Fact]
    public async Task Cancelling_during_the_first_delay_throws_without_running_the_agent()
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.AlwaysFails();
        using var cts = new CancellationTokenSource();
        var run = _strategy.TryRecoverAsync(Context(agent.RunAsync, """{"jitter":false}""", time), cts.Token).AsTask();

        (await time.NextTimerAsync()).Should().Be(Ms(200));
        await cts.CancelAsync();

        await run.WaitAsync(Limit).Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
        time.Advance(TimeSpan.FromHours(1));
        agent.CallCount.Should().Be(0);
        time.HasUnseenTimer.Should().BeFalse();
    }

    [Fact]
    public async Task Cancelling_during_a_later_delay_throws_and_stops_retrying()
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.AlwaysFails();
        using var cts = new CancellationTokenSource();
        var run = _strategy.TryRecoverAsync(Context(agent.RunAsync, """{"jitter":false}""", time), cts.Token).AsTask();

        time.Advance(await time.NextTimerAsync());
        (await agent.NextCallAsync()).Task.Attempt.Should().Be(2);
        (await time.NextTimerAsync()).Should().Be(Ms(400));
        await cts.CancelAsync();

        await run.WaitAsync(Limit).Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
        time.Advance(TimeSpan.FromHours(1));
        agent.CallCount.Should().Be(1);
    }

    [Fact]
    public async Task Cancelling_while_an_attempt_runs_throws_even_if_the_agent_returns_a_failure()
    {
        var time = new RecordingTimeProvider();
        using var cts = new CancellationTokenSource();
        var agent = new ScriptedAgent((n, _) => AgentResult.Fail($"boom {n}")) { OnCall = _ => cts.Cancel() };
        var run = _strategy.TryRecoverAsync(Context(agent.RunAsync, """{"jitter":false}""", time), cts.Token).AsTask();

        time.Advance(await time.NextTimerAsync());

        await run.WaitAsync(Limit).Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
        agent.CallCount.Should().Be(1);
        time.HasUnseenTimer.Should().BeFalse();
    }

    [Fact]
    public async Task An_already_cancelled_token_throws_without_waiting_or_running()
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.AlwaysFails();

        var act = () => _strategy.TryRecoverAsync(Context(agent.RunAsync, null, time), new CancellationToken(canceled: true)).AsTask().WaitAsync(Limit);

        await act.Should().ThrowAsync<OperationCanceledException>();
        agent.CallCount.Should().Be(0);
        time.HasUnseenTimer.Should().BeFalse();
    }

    [Theory]
    [InlineData("[]", "retry: options: must be a JSON object, got []")]
    [InlineData("\"fast\"", "retry: options: must be a JSON object, got \"fast\"")]
    [InlineData("""{"maxAttempts":0}""", "retry: maxAttempts: must be an integer from 1 to 100, got 0")]
    [InlineData("""{"maxAttempts":101}""", "retry: maxAttempts: must be an integer from 1 to 100, got 101")]
    [InlineData("""{"maxAttempts":2.5}""", "retry: maxAttempts: must be an integer from 1 to 100, got 2.5")]
    [InlineData("""{"maxAttempts":"3"}""", "retry: maxAttempts: must be an integer from 1 to 100, got \"3\"")]
    [InlineData("""{"delayMs":-1}""", "retry: delayMs: must be an integer from 0 to 86400000, got -1")]
    [InlineData("""{"delayMs":true}""", "retry: delayMs: must be an integer from 0 to 86400000, got true")]
    [InlineData("""{"maxDelayMs":86400001}""", "retry: maxDelayMs: must be an integer from 0 to 86400000, got 86400001")]
    [InlineData("""{"delayMs":500,"maxDelayMs":100}""", "retry: maxDelayMs: must be at least delayMs (500), got 100")]
    [InlineData("""{"delayMs":60000}""", "retry: maxDelayMs: must be at least delayMs (60000), got 30000")]
    [InlineData("""{"backoff":"fibonacci"}""", "retry: backoff: must be \"exponential\", \"linear\" or \"constant\", got \"fibonacci\"")]
    [InlineData("""{"backoff":2}""", "retry: backoff: must be \"exponential\", \"linear\" or \"constant\", got 2")]
    [InlineData("""{"jitter":"yes"}""", "retry: jitter: must be true or false, got \"yes\"")]
    [InlineData("""{"maxAttempt":3}""", "retry: maxAttempt: unknown option (known: maxAttempts, delayMs, maxDelayMs, backoff, jitter)")]
    public async Task Bad_options_return_a_failed_result_naming_the_option_without_running_anything(string optionsJson, string expected)
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.AlwaysFails();

        var result = await _strategy.TryRecoverAsync(Context(agent.RunAsync, optionsJson, time), CancellationToken.None).AsTask().WaitAsync(Limit);

        result!.Success.Should().BeFalse();
        result.Error.Should().Be(expected);
        agent.CallCount.Should().Be(0);
        time.HasUnseenTimer.Should().BeFalse();
    }

    [Fact]
    public async Task Null_option_values_mean_the_default_and_integral_numbers_may_be_written_as_decimals()
    {
        var time = new RecordingTimeProvider();
        var agent = ScriptedAgent.AlwaysFails();
        var options = """{"maxAttempts":2.0,"delayMs":null,"maxDelayMs":null,"backoff":null,"jitter":false}""";

        var (result, delays) = await DriveAsync(_strategy.TryRecoverAsync(Context(agent.RunAsync, options, time), CancellationToken.None), time);

        result!.Error.Should().Be("retry: 2 attempts failed; last: boom 2");
        delays.Should().Equal(Ms(200), Ms(400));
    }

    [Fact]
    public async Task An_exception_from_run_agent_is_retried_and_named_if_it_is_the_last_outcome()
    {
        var time = new RecordingTimeProvider();
        var flaky = new ScriptedAgent((n, _) => n == 1 ? throw new InvalidOperationException("host hiccup") : AgentResult.Ok());
        var (rescued, _) = await DriveAsync(_strategy.TryRecoverAsync(Context(flaky.RunAsync, """{"delayMs":1}""", time), CancellationToken.None), time);
        rescued!.Success.Should().BeTrue();
        flaky.Attempts.Should().Equal(2, 3);

        var broken = new ScriptedAgent((_, _) => throw new InvalidOperationException("host down"));
        var (failed, _) = await DriveAsync(_strategy.TryRecoverAsync(Context(broken.RunAsync, """{"delayMs":1,"maxAttempts":2}""", time), CancellationToken.None), time);
        failed!.Success.Should().BeFalse();
        failed.Error.Should().Be("retry: 2 attempts failed; last: InvalidOperationException: host down");
    }

    [Fact]
    public async Task A_context_whose_failure_is_a_success_is_not_its_business()
    {
        var agent = ScriptedAgent.AlwaysFails();
        var context = Context(agent.RunAsync, null) with { Failure = AgentResult.Ok() };

        (await _strategy.TryRecoverAsync(context, CancellationToken.None)).Should().BeNull();
        agent.CallCount.Should().Be(0);
    }

    [Fact]
    public async Task Concurrent_recoveries_with_the_same_options_keep_their_own_attempts()
    {
        var time = new RecordingTimeProvider();
        var once = ScriptedAgent.FailsThenSucceeds(1);
        var thrice = ScriptedAgent.FailsThenSucceeds(3);
        const string Options = """{"delayMs":0,"maxAttempts":5}""";

        var results = await Task.WhenAll(
            Task.Run(() => _strategy.TryRecoverAsync(Context(once.RunAsync, Options, time), CancellationToken.None).AsTask()),
            Task.Run(() => _strategy.TryRecoverAsync(Context(thrice.RunAsync, Options, time, attempt: 7), CancellationToken.None).AsTask()))
            .WaitAsync(Limit);

        results.Should().OnlyContain(r => r!.Success);
        once.Attempts.Should().Equal(2, 3);
        thrice.Attempts.Should().Equal(8, 9, 10, 11);
    }

    [Fact]
    public async Task The_same_options_on_another_clock_wait_on_that_clock()
    {
        const string Options = """{"jitter":false,"maxAttempts":1}""";
        foreach (var time in new[] { new RecordingTimeProvider(), new RecordingTimeProvider() })
        {
            var agent = ScriptedAgent.AlwaysFails();
            var (result, delays) = await DriveAsync(_strategy.TryRecoverAsync(Context(agent.RunAsync, Options, time), CancellationToken.None), time);

            result!.Error.Should().Be("retry: 1 attempt failed; last: boom 1");
            delays.Should().Equal(Ms(200));
        }
    }

    /// <summary>
    /// Polly's decorrelated jitter (the "V2" formula) for retry t (0-based) of base delay f lies in (0, f * 2^(t+1)]
    /// for t = 0 or 1, and in (0, f * (2^(t+1) - 2^(t-1))] after that; each is then capped at the maximum delay.
    /// </summary>
    private static void ShouldBeWithinExponentialJitterBounds(IReadOnlyList<TimeSpan> delays, double baseMs, double maxMs)
    {
        for (var t = 0; t < delays.Count; t++)
        {
            var upper = t < 2 ? baseMs * Math.Pow(2, t + 1) : baseMs * (Math.Pow(2, t + 1) - Math.Pow(2, t - 1));
            delays[t].TotalMilliseconds.Should().BeGreaterThan(0).And.BeLessThanOrEqualTo(Math.Min(upper, maxMs), $"retry {t + 1}");
        }
    }
}
