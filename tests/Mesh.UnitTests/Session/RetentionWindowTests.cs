using Mesh.Peer.Groups;
using Mesh.Peer.Protocol;
using Mesh.Peer.Session;

namespace Mesh.UnitTests.Session;

/// <summary>Where kept history begins: counted over checked messages only, aged on this peer's clock, and never
/// moved by a member whose clock runs ahead.</summary>
[Category("Unit")]
public sealed class RetentionWindowTests
{
    private const long Day = 24 * 3600 * 1000L;
    private const long Now = 1_800_000_000_000;
    private static readonly string Amy = new('a', Mesh.Peer.Identity.PeerIdentity.PeerIdLength);
    private static readonly string Bo = new('b', Mesh.Peer.Identity.PeerIdentity.PeerIdLength);

    private static Envelope Message(string peer, long seq, long orderMs) => new("g", peer, 1, seq, "x", orderMs, "hi", orderMs);

    private static RetentionWindow Window(string keep) => new(Retention.TryParse(keep, out _)!.Value);

    [Test]
    public void A_count_keeps_the_newest_n_messages_whatever_order_they_come_in()
    {
        var window = Window("3");
        var messages = Enumerable.Range(1, 6).Select(i => Message(Bo, i, Now - 1000 + i)).ToList();
        foreach (var m in messages.OrderBy(m => m.Seq % 2).ThenBy(m => m.Seq))
        {
            window.Offer(m, fromOther: true, Now);
        }

        var bound = window.ViewBound(Now);
        Assert.That(bound, Is.EqualTo(messages[3].HistoryName), "the oldest kept message is where history begins");
        Assert.That(messages.Where(m => window.Keeps(m.HistoryName, Now)).Select(m => m.Seq), Is.EqualTo(new long[] { 4, 5, 6 }));
        Assert.That(window.Offer(Message(Bo, 0, Now - 5000), fromOther: true, Now), Is.False, "an older one arriving late is already beyond");
        Assert.That(window.DeleteBound(Now), Is.EqualTo(bound));
    }

    [Test]
    public void Until_the_count_is_reached_nothing_lies_beyond()
    {
        var window = Window("3");
        window.Offer(Message(Bo, 1, Now), fromOther: true, Now);
        window.Offer(Message(Bo, 2, Now + 1), fromOther: true, Now);
        Assert.That(window.ViewBound(Now), Is.Null);
        Assert.That(window.DeleteBound(Now), Is.Null);
        Assert.That(Window("all").ViewBound(Now), Is.Null);
    }

    [Test]
    [TestCase(30 * Day)]
    [TestCase(3600 * 1000L)]
    [TestCase(RetentionWindow.CountAheadMs + 1)]
    public void Messages_stamped_ahead_of_this_peers_clock_do_not_push_others_out_of_a_count(long ahead)
    {
        var window = Window("2");
        window.Offer(Message(Amy, 1, Now - 2), fromOther: true, Now);
        window.Offer(Message(Amy, 2, Now - 1), fromOther: true, Now);
        for (var i = 1; i <= 10; i++)
        {
            window.Offer(Message(Bo, i, Now + ahead + i), fromOther: true, Now);
        }

        Assert.That(window.ViewBound(Now), Is.EqualTo(Message(Amy, 1, Now - 2).HistoryName), "amy's two are still the newest counted");
    }

    [Test]
    public void An_age_is_measured_on_this_clock_for_the_view_and_never_past_what_others_sent_for_deleting()
    {
        var window = Window("7d");
        Assert.That(window.ViewBound(Now), Is.EqualTo((Now - 7 * Day).ToString("D13")));

        // This peer's clock is 30 days ahead; the newest message another member sent is from the real now.
        var ahead = Now + 30 * Day;
        window.Offer(Message(Bo, 1, Now), fromOther: true, ahead);
        window.Offer(Message(Amy, 1, ahead), fromOther: false, ahead);
        Assert.That(window.DeleteBound(ahead), Is.EqualTo((Now - 7 * Day).ToString("D13")), "deleting follows the others' newest, not the fast clock");
        Assert.That(string.CompareOrdinal(Message(Bo, 2, Now - Day).HistoryName, window.DeleteBound(ahead)), Is.GreaterThan(0), "a day-old message stays");

        // A message another member stamped far ahead does not move the delete bound past this clock.
        var honest = Window("7d");
        honest.Offer(Message(Bo, 1, Now + 300 * Day), fromOther: true, Now);
        Assert.That(honest.DeleteBound(Now), Is.EqualTo((Now - 7 * Day).ToString("D13")));
    }

    [Test]
    public void With_both_whichever_keeps_less_wins()
    {
        var window = Window("7d,2");
        foreach (var i in new[] { 1, 2, 3 })
        {
            window.Offer(Message(Bo, i, Now - i * Day / 10), fromOther: true, Now);
        }

        Assert.That(window.ViewBound(Now), Is.EqualTo(Message(Bo, 2, Now - 2 * Day / 10).HistoryName), "the count keeps less here");
        var old = Window("7d,100");
        old.Offer(Message(Bo, 1, Now - 20 * Day), fromOther: true, Now);
        Assert.That(old.ViewBound(Now), Is.EqualTo((Now - 7 * Day).ToString("D13")), "the age keeps less here");
    }
}
