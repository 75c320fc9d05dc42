using Orchestrator.Cli.Hosting;
using Orchestrator.Tests.Plugins;
using Serilog.Events;

namespace Orchestrator.Tests.Cli;

public sealed class StartupWarmUpTests
{
    [Fact]
    public void Warm_ups_run_in_the_order_given_and_one_that_throws_is_logged_without_stopping_the_rest()
    {
        var log = new CapturingLog();
        var done = new List<string>();
        using var finished = new ManualResetEventSlim();

        var warmUp = StartupWarmUp.Start(log.Logger);
        warmUp.Then(() => done.Add("serializer"));
        warmUp.Then(() => throw new InvalidOperationException("boom"));
        warmUp.Then(() => done.Add("report writer"));
        warmUp.Then(finished.Set);
        warmUp.Finish();

        finished.Wait(TimeSpan.FromSeconds(30)).Should().BeTrue("the warm-up thread runs everything queued before it ends");
        done.Should().Equal("serializer", "report writer");
        log.Events.Should().ContainSingle(e => e.Level == LogEventLevel.Debug && e.Exception is InvalidOperationException);
    }
}
