using Mesh.Peer.Protocol;
using Mesh.Peer.Session;

namespace Mesh.UnitTests.Session;

[Category("Unit")]
public sealed class MessageOrdererTests
{
    private static Envelope M(long seq, string peer = "aaaaaaaaaaaaaaaa", long epoch = 1) =>
        new("g", peer, epoch, seq, "amy", 1000 + seq, $"m{seq}");

    private static long[] Seqs(IEnumerable<Envelope> es) => es.Select(e => e.Seq).ToArray();

    [Test]
    public void In_order_live_messages_pass_straight_through()
    {
        var o = new MessageOrderer();
        Assert.That(Seqs(o.OfferLive(M(1), 0)), Is.EqualTo(new long[] { 1 }));
        Assert.That(Seqs(o.OfferLive(M(2), 0)), Is.EqualTo(new long[] { 2 }));
    }

    [Test]
    public void A_live_message_ahead_of_a_gap_waits_until_history_fills_it()
    {
        var o = new MessageOrderer();
        o.OfferLive(M(1), 0);
        Assert.That(o.OfferLive(M(3), 0), Is.Empty);
        Assert.That(o.OfferLive(M(4), 0), Is.Empty);
        Assert.That(Seqs(o.OfferHistory(M(2))), Is.EqualTo(new long[] { 2, 3, 4 }));
    }

    [Test]
    public void Every_copy_after_the_first_is_dropped()
    {
        var o = new MessageOrderer();
        o.OfferLive(M(1), 0);
        Assert.That(o.OfferHistory(M(1)), Is.Empty);
        Assert.That(o.OfferLive(M(1), 0), Is.Empty);
        o.OfferLive(M(3), 0);
        Assert.That(o.OfferLive(M(3), 0), Is.Empty);
        Assert.That(o.Duplicates, Is.EqualTo(3));
    }

    [Test]
    public void History_replayed_before_live_delivers_each_once()
    {
        var o = new MessageOrderer();
        var delivered = new List<long>();
        foreach (var seq in new long[] { 1, 2, 3 })
        {
            delivered.AddRange(Seqs(o.OfferHistory(M(seq))));
        }

        foreach (var seq in new long[] { 2, 3, 4, 5 })
        {
            delivered.AddRange(Seqs(o.OfferLive(M(seq), 0)));
        }

        Assert.That(delivered, Is.EqualTo(new long[] { 1, 2, 3, 4, 5 }));
    }

    [Test]
    public void A_gap_that_never_fills_is_released_after_the_timeout_and_a_late_copy_still_shows_once()
    {
        var o = new MessageOrderer();
        o.OfferLive(M(1), 0);
        o.OfferLive(M(3), 100);
        Assert.That(o.Expire(5_000, 10_000), Is.Empty);
        Assert.That(Seqs(o.Expire(10_100, 10_000)), Is.EqualTo(new long[] { 3 }));
        Assert.That(o.GapsSkipped, Is.EqualTo(1));
        Assert.That(Seqs(o.OfferHistory(M(2))), Is.EqualTo(new long[] { 2 }), "the skipped one, late but not lost");
        Assert.That(o.OfferHistory(M(2)), Is.Empty, "and only once");
    }

    [Test]
    public void History_moving_past_missing_numbers_releases_waiting_live_messages_in_order()
    {
        var o = new MessageOrderer();
        o.OfferLive(M(1), 0);
        o.OfferLive(M(4), 0);
        // 2 and 3 were never persisted (the sender died); history goes on at 5.
        Assert.That(Seqs(o.OfferHistory(M(5))), Is.EqualTo(new long[] { 4, 5 }));
        Assert.That(Seqs(o.OfferLive(M(6), 0)), Is.EqualTo(new long[] { 6 }));
    }

    [Test]
    public void Own_messages_are_not_shown_again_when_they_come_back()
    {
        var o = new MessageOrderer();
        o.MarkOwn(M(1));
        o.MarkOwn(M(2));
        Assert.That(o.OfferHistory(M(1)), Is.Empty);
        Assert.That(o.OfferHistory(M(2)), Is.Empty);
    }

    [Test]
    public void Senders_and_runs_are_ordered_independently()
    {
        var o = new MessageOrderer();
        Assert.That(Seqs(o.OfferLive(M(1, "bbbbbbbbbbbbbbbb"), 0)), Is.EqualTo(new long[] { 1 }));
        Assert.That(Seqs(o.OfferLive(M(1, epoch: 2), 0)), Is.EqualTo(new long[] { 1 }));
        Assert.That(o.OfferLive(M(2, epoch: 3), 0), Is.Empty, "a new run's second message waits for its first");
    }

    [Test]
    public void Already_delivered_copies_are_known_without_opening_them_but_skipped_numbers_are_not()
    {
        var o = new MessageOrderer();
        o.OfferLive(M(1), 0);
        o.OfferLive(M(3), 0);
        o.Expire(20_000, 10_000);
        Assert.That(o.AlreadyDelivered("aaaaaaaaaaaaaaaa", 1, 1), Is.True);
        Assert.That(o.AlreadyDelivered("aaaaaaaaaaaaaaaa", 1, 2), Is.False, "skipped: still wanted");
        Assert.That(o.AlreadyDelivered("aaaaaaaaaaaaaaaa", 1, 4), Is.False, "not yet seen");
        Assert.That(o.AlreadyDelivered("bbbbbbbbbbbbbbbb", 1, 1), Is.False, "unknown sender");
    }

    [Test]
    public void Repairs_are_counted_when_history_fills_a_gap_and_when_a_skipped_message_turns_up()
    {
        var o = new MessageOrderer();
        o.OfferLive(M(1), 0);
        o.OfferLive(M(3), 0);
        Assert.That(Seqs(o.OfferHistory(M(2))), Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(o.GapsRepaired, Is.EqualTo(1));
        o.OfferLive(M(5), 0);
        o.Expire(20_000, 10_000);
        Assert.That(Seqs(o.OfferHistory(M(4))), Is.EqualTo(new long[] { 4 }));
        Assert.That(o.GapsRepaired, Is.EqualTo(2));
        Assert.That(o.OfferHistory(M(6)), Has.Count.EqualTo(1));
        Assert.That(o.GapsRepaired, Is.EqualTo(2), "an in-order history message repairs nothing");
    }

    [Test]
    public void A_huge_sequence_jump_does_not_hang_or_grow_without_bound()
    {
        var o = new MessageOrderer();
        var ready = o.OfferHistory(M(long.MaxValue / 2));
        Assert.That(ready, Has.Count.EqualTo(1));
    }

    [Test]
    public void A_gap_of_a_million_numbers_stays_acceptable_in_full_and_costs_one_range()
    {
        var o = new MessageOrderer();
        o.OfferLive(M(1), 0);
        o.OfferLive(M(1_000_002), 0);
        Assert.That(Seqs(o.Expire(20_000, 10_000)), Is.EqualTo(new long[] { 1_000_002 }));

        // Every skipped number is still shown when it turns up (none becomes a "duplicate"), and only once.
        var late = new long[] { 2, 5_000, 10_001, 20_000, 999_999, 1_000_001 };
        foreach (var seq in late)
        {
            Assert.That(Seqs(o.OfferHistory(M(seq))), Is.EqualTo(new[] { seq }), $"seq {seq}");
            Assert.That(o.OfferHistory(M(seq)), Is.Empty);
        }

        Assert.That(o.Duplicates, Is.EqualTo(late.Length));
    }

    [Test]
    public void Waiting_is_bounded_by_releasing_the_oldest_never_by_dropping()
    {
        var o = new MessageOrderer();
        o.OfferLive(M(1), 0);
        var released = new List<long>();
        for (long seq = 3; seq < 3 + MessageOrderer.MaxPending + 5; seq++)
        {
            released.AddRange(Seqs(o.OfferLive(M(seq), 0)));
        }

        Assert.That(o.Waiting, Is.LessThanOrEqualTo(MessageOrderer.MaxPending));
        released.AddRange(Seqs(o.Expire(20_000, 10_000)));
        Assert.That(released, Is.EqualTo(Enumerable.Range(3, MessageOrderer.MaxPending + 5).Select(i => (long)i)), "every one, in order");
        Assert.That(Seqs(o.OfferHistory(M(2))), Is.EqualTo(new long[] { 2 }), "the gap is still acceptable");
    }

    [Test]
    public void A_sender_opening_run_after_run_costs_a_bounded_number_of_streams()
    {
        var o = new MessageOrderer();
        var shown = 0;
        for (long epoch = 1; epoch <= 1000; epoch++)
        {
            // Each run starts 10,000 numbers in and then skips them: the attack that cost a joiner 1.6 GB.
            shown += o.OfferHistory(M(10_001, epoch: epoch)).Count;
        }

        Assert.That(shown, Is.EqualTo(1000), "each message is shown");
        Assert.That(o.AlreadyDelivered("aaaaaaaaaaaaaaaa", 1, 5), Is.True, "a closed run takes no more messages");
        Assert.That(o.OfferHistory(M(5, epoch: 3)), Is.Empty);
        Assert.That(Seqs(o.OfferHistory(M(5, epoch: 1000))), Is.EqualTo(new long[] { 5 }), "a followed run still does");
        Assert.That(o.Stale, Is.EqualTo(1));
    }

    [Test]
    public void A_beat_number_not_delivered_is_a_miss_and_one_delivered_is_not()
    {
        var o = new MessageOrderer();
        Assert.That(o.Misses("aaaaaaaaaaaaaaaa", 1, 1), Is.True, "nothing of the sender yet");
        o.OfferLive(M(1), 0);
        o.OfferLive(M(2), 0);
        Assert.That(o.Misses("aaaaaaaaaaaaaaaa", 1, 2), Is.False);
        Assert.That(o.Misses("aaaaaaaaaaaaaaaa", 1, 3), Is.True, "the tail did not come");
        o.OfferLive(M(4), 0);
        Assert.That(o.IsWaiting("aaaaaaaaaaaaaaaa", 1), Is.True);
        Assert.That(o.Misses("aaaaaaaaaaaaaaaa", 1, 4), Is.True, "3 is missing");
        o.Expire(20_000, 10_000);
        Assert.That(o.Misses("aaaaaaaaaaaaaaaa", 1, 4), Is.True, "3 was released past, not delivered");
        o.OfferHistory(M(3));
        Assert.That(o.Misses("aaaaaaaaaaaaaaaa", 1, 4), Is.False);
    }

    [Test]
    public void Holds_answers_like_AlreadyDelivered_without_counting_a_duplicate()
    {
        var o = new MessageOrderer();
        o.OfferLive(M(1), 0);
        Assert.That(o.Holds("aaaaaaaaaaaaaaaa", 1, 1), Is.True);
        Assert.That(o.Holds("aaaaaaaaaaaaaaaa", 1, 2), Is.False);
        Assert.That(o.Duplicates, Is.Zero);
    }
}
