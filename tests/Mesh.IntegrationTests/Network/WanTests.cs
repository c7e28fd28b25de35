using System.Diagnostics;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Network;

/// <summary>Six peers on six hosts and etcd on three more, every link 20 ms ± 5 ms each way: delivery, order and
/// latency on a healthy wide-area network, and with the links' bandwidth capped.</summary>
public sealed class WanTests : NetworkFixture
{
    [Test]
    public async Task Six_peers_over_a_40_ms_round_trip_show_every_message_once_in_each_senders_order()
    {
        var group = $"wan-{Guid.NewGuid():N}"[..20];
        var peers = await StartPeersAsync(group, 6);
        using var clock = new DeliveryClock(group, peers);
        var sentBy = peers.ToDictionary(p => p.Name, p => Enumerable.Range(0, 20).Select(i => $"{p.Name} says {i}").ToList());
        for (var i = 0; i < 20; i++)
        {
            foreach (var peer in peers)
            {
                await clock.SendAsync(peer, sentBy[peer.Name][i]);
            }

            await Task.Delay(50); // paced like people typing, not a burst: the figure is the path's, not a queue's
        }

        await MarkAsync(peers[0], group, peers);
        var report = Count("6 peers, 20 ms ± 5 ms each way", group, peers, sentBy, clock, null, null);
        report.Publish();
        Assert.That(report.Missing, Is.Zero);
        Assert.That(report.Duplicated, Is.Zero);
        Assert.That(report.OutOfOrder, Is.Zero);
        Assert.That(report.Shown, Is.EqualTo(6 * 6 * 20));
        // Each message crossed a relay: a figure under the configured delay would mean the path bypasses it.
        Assert.That(clock.Percentile(1), Is.GreaterThanOrEqualTo(OneWayDelay.TotalMilliseconds - Jitter.TotalMilliseconds));
    }

    [Test]
    public async Task Links_capped_at_64_KB_a_second_carry_a_burst_of_large_messages_whole()
    {
        var group = $"narrow-{Guid.NewGuid():N}"[..20];
        var peers = await StartPeersAsync(group, 4);
        CapPeerLinks(64 * 1024);
        using var clock = new DeliveryClock(group, peers);
        var filler = new string('x', 1000);
        var sentBy = peers.ToDictionary(p => p.Name, p => Enumerable.Range(0, 40).Select(i => $"{p.Name} large {i} {filler}").ToList());
        foreach (var peer in peers)
        {
            foreach (var text in sentBy[peer.Name])
            {
                await clock.SendAsync(peer, text);
            }
        }

        // Each peer's link carries 40 KB to each of 3 members through 64 KB/s: seconds of queue, nothing dropped.
        var total = sentBy.Values.Sum(l => l.Count);
        foreach (var peer in peers)
        {
            await peer.WaitForAsync(p => p.Messages(group).Count >= total, Long, $"all {total} shown");
        }

        await MarkAsync(peers[0], group, peers);
        var report = Count("4 peers, links capped at 64 KB/s, 40 messages of 1 KB each at once", group, peers, sentBy, clock, null, null);
        report.Publish();
        Assert.That(report.Missing, Is.Zero);
        Assert.That(report.Duplicated, Is.Zero);
        Assert.That(report.OutOfOrder, Is.Zero);
        // 120 KB left each peer's capped link: that takes about 2 s, so the last ones waited in the queue.
        Assert.That(clock.Percentile(99), Is.GreaterThan(1000), "the cap held the burst back");
    }
}
