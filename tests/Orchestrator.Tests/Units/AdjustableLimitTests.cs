using Orchestrator.Core.Strategies;

namespace Orchestrator.Tests.Units;

/// <summary>The adjustable concurrency limit alone: admission in order, raising and lowering while work waits, cancellation.</summary>
public sealed class AdjustableLimitTests
{
    [Fact]
    public async Task Work_beyond_the_limit_waits_and_is_let_in_in_order_as_slots_free()
    {
        var limit = new AdjustableLimit(2);
        await limit.WaitAsync(CancellationToken.None);
        await limit.WaitAsync(CancellationToken.None);
        var third = limit.WaitAsync(CancellationToken.None);
        var fourth = limit.WaitAsync(CancellationToken.None);

        third.IsCompleted.Should().BeFalse();
        limit.Release();
        await third;
        fourth.IsCompleted.Should().BeFalse("the fourth came after the third");
        limit.InUse.Should().Be(2);
        limit.Release();
        await fourth;
    }

    [Fact]
    public async Task Raising_the_limit_lets_waiting_work_in_at_once()
    {
        var limit = new AdjustableLimit(1);
        await limit.WaitAsync(CancellationToken.None);
        var waiting = new[] { limit.WaitAsync(CancellationToken.None), limit.WaitAsync(CancellationToken.None) };

        limit.SetLimit(3);

        await Task.WhenAll(waiting);
        limit.InUse.Should().Be(3);
    }

    [Fact]
    public async Task Lowering_the_limit_lets_nothing_new_in_until_work_in_flight_drops_below_it()
    {
        var limit = new AdjustableLimit(3);
        for (var i = 0; i < 3; i++)
        {
            await limit.WaitAsync(CancellationToken.None);
        }

        limit.SetLimit(1);
        var next = limit.WaitAsync(CancellationToken.None);
        limit.Release();
        limit.Release();
        next.IsCompleted.Should().BeFalse("one is still in flight and the limit is one");
        limit.Release();
        await next;
        limit.InUse.Should().Be(1);
    }

    [Fact]
    public async Task A_limit_is_never_below_one()
    {
        var limit = new AdjustableLimit(2);

        limit.SetLimit(0);

        limit.Limit.Should().Be(1);
        await limit.WaitAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_cancelled_waiter_never_takes_a_slot()
    {
        var limit = new AdjustableLimit(1);
        await limit.WaitAsync(CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = limit.WaitAsync(cancel.Token);
        var after = limit.WaitAsync(CancellationToken.None);

        await cancel.CancelAsync();
        await FluentActions.Awaiting(() => cancelled).Should().ThrowAsync<OperationCanceledException>();
        limit.Release();

        await after;
        limit.InUse.Should().Be(1, "the slot went to the waiter behind the cancelled one");
    }
}
