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
}
