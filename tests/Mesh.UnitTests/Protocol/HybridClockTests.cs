using Mesh.Peer.Protocol;

namespace Mesh.UnitTests.Protocol;

[Category("Unit")]
public sealed class HybridClockTests
{
    [Test]
    public void A_reply_is_stamped_after_what_it_answers_even_from_a_clock_an_hour_behind()
    {
        const long hour = 3600_000;
        var ahead = new HybridClock();
        var behind = new HybridClock();
        var question = ahead.Next(1_000_000 + hour);
        behind.Observe(question, 1_000_000 - hour);
        var answer = behind.Next(1_000_000 - hour);
        Assert.That(answer, Is.GreaterThan(question));

        // And the next question, from the clock ahead, after that answer.
        ahead.Observe(answer, 1_000_010 + hour);
        Assert.That(ahead.Next(1_000_010 + hour), Is.GreaterThan(answer));
    }

    [Test]
    public void Stamps_never_go_backwards_when_the_clock_does()
    {
        var clock = new HybridClock();
        var first = clock.Next(5000);
        Assert.That(clock.Next(4000), Is.GreaterThanOrEqualTo(first));
        Assert.That(clock.Next(6000), Is.EqualTo(6000));
    }

    [Test]
    public void A_stamp_years_ahead_does_not_drag_this_clock_with_it()
    {
        var clock = new HybridClock();
        clock.Observe(10_000 + HybridClock.MaxAheadMs + 1, 10_000);
        Assert.That(clock.Next(10_000), Is.EqualTo(10_000));
        clock.Observe(10_000 + 3600_000, 10_000);
        Assert.That(clock.Next(10_000), Is.EqualTo(10_000 + 3600_000 + 1), "an hour ahead is followed");
    }
}
