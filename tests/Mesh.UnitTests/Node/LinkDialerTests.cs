using Mesh.Peer.Node;

namespace Mesh.UnitTests.Node;

[Category("Unit")]
public sealed class LinkDialerTests
{
    private static readonly long After = (long)LinkDialer.RedialAfter.TotalMilliseconds;

    [Test]
    public void A_first_attempt_that_does_not_come_up_is_dialled_again_after_the_limit()
    {
        var dialer = new LinkDialer(1_000);
        Assert.That(dialer.RedialDue(1_000 + After - 1), Is.False);
        Assert.That(dialer.RedialDue(1_000 + After), Is.True);
        dialer.OnRedialed(1_000 + After);
        Assert.That(dialer.RedialDue(1_000 + After + 1), Is.False, "the fresh attempt gets its own time");
        Assert.That(dialer.RedialDue(1_000 + 2 * After), Is.True);
        Assert.That(dialer.Redials, Is.EqualTo(1));
    }

    [Test]
    public void A_link_that_is_up_is_never_dialled_again()
    {
        var dialer = new LinkDialer(0);
        dialer.OnUp();
        Assert.That(dialer.RedialDue(10 * After), Is.False);
    }

    [Test]
    public void A_dropped_link_waits_the_limit_from_the_drop_and_a_retry_restarts_the_wait()
    {
        var dialer = new LinkDialer(0);
        dialer.OnUp();
        dialer.OnDropped(50_000);
        Assert.That(dialer.RedialDue(50_000 + After - 1), Is.False);
        dialer.OnRetried(50_000 + After - 1);
        Assert.That(dialer.RedialDue(50_000 + After), Is.False, "ZeroMQ's own retry is a fresh attempt");
        Assert.That(dialer.RedialDue(50_000 + 2 * After - 1), Is.True);
    }

    [Test]
    public void A_retry_reported_while_up_changes_nothing()
    {
        var dialer = new LinkDialer(0);
        dialer.OnUp();
        dialer.OnRetried(5);
        Assert.That(dialer.Up, Is.True);
        Assert.That(dialer.RedialDue(10 * After), Is.False);
    }
}
