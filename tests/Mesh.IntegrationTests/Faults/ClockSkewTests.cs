using Mesh.Testing;

namespace Mesh.IntegrationTests.Faults;

/// <summary>Senders whose clocks are an hour apart, either way (libfaketime): every view shows a reply after what it
/// answers, and all views show the same order.</summary>
public sealed class ClockSkewTests : EtcdFixture
{
    private static Dictionary<string, string> Skewed(string offset) => SkewedClock.Environment(offset);

    private static int Inverted(List<string> order, IReadOnlyList<(string Before, string After)> pairs) =>
        pairs.Count(p => order.IndexOf(p.Before) < 0 || order.IndexOf(p.After) < 0 || order.IndexOf(p.Before) > order.IndexOf(p.After));

    [Test]
    public async Task With_one_clock_an_hour_behind_and_one_an_hour_ahead_no_view_inverts_a_reply()
    {
        var group = NewGroup("skew");
        var behind = Track(PeerProcess.Start(Etcd.Url, "slow", [group], null, Skewed("-1h")));
        await behind.WaitReadyAsync(group, Long);
        var ahead = Track(PeerProcess.Start(Etcd.Url, "fast", [group], null, Skewed("+1h")));
        await ahead.WaitReadyAsync(group, Long);
        var watcher = StartPeer("watch", group);
        await watcher.WaitReadyAsync(group, Long);
        foreach (var peer in new[] { behind, ahead, watcher })
        {
            await peer.WaitForAsync(p => new[] { "slow", "fast", "watch" }.All(OnlineNames(p, group).Append(p.Name).Contains), Long, "all three online");
        }

        // A conversation: each line is sent only once its sender has seen the one before.
        var lines = new List<string>();
        var pairs = new List<(string, string)>();
        for (var i = 0; i < 18; i++)
        {
            var (from, to) = i % 2 == 0 ? (behind, ahead) : (ahead, behind);
            var line = $"{from.Name} {i:D2}";
            await from.SendAsync(line);
            await to.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == line), Long, line);
            if (lines.Count > 0)
            {
                pairs.Add((lines[^1], line));
            }

            lines.Add(line);
        }

        await watcher.WaitForAsync(p => p.Messages(group).Count(m => lines.Contains(m.Str("text")!)) == lines.Count, Long, "the watcher has them all");
        var late = StartPeer("late", group);
        await late.WaitReadyAsync(group, Long);
        var lateOrder = late.Messages(group).Select(m => m.Str("text")!).ToList();
        var historyOrder = (await HistoryAsync(group, watcher.Home)).Select(m => m.Str("text")!).ToList();
        var liveByKey = watcher.Messages(group).OrderBy(m => m.Str("key"), StringComparer.Ordinal).Select(m => m.Str("text")!).ToList();

        await watcher.CloseAsync();
        var restarted = Track(PeerProcess.Start(Etcd.Url, "watch", [group], watcher.Home));
        await restarted.WaitReadyAsync(group, Long);
        var copyOrder = restarted.Messages(group).Select(m => m.Str("text")!).ToList();

        TestContext.Out.WriteLine($"causal pairs inverted: late joiner {Inverted(lateOrder, pairs)}, mesh history {Inverted(historyOrder, pairs)}, "
            + $"live by key {Inverted(liveByKey, pairs)}, restart from the local copy {Inverted(copyOrder, pairs)} (of {pairs.Count})");
        Assert.That(Inverted(lateOrder, pairs), Is.Zero, "late joiner");
        Assert.That(Inverted(historyOrder, pairs), Is.Zero, "mesh history");
        Assert.That(Inverted(copyOrder, pairs), Is.Zero, "restart from the local copy");
        Assert.That(lateOrder, Is.EqualTo(historyOrder), "one order for every view");
        Assert.That(copyOrder, Is.EqualTo(historyOrder));
        Assert.That(liveByKey, Is.EqualTo(historyOrder), "the live view's keys give the same order");
        Assert.That(lateOrder, Is.EqualTo(lines));

        // The times shown stay each sender's own: the clock ahead shows about an hour ahead, the others do not follow it.
        var sentAt = late.Messages(group).ToDictionary(m => m.Str("text")!, m => DateTimeOffset.Parse(m.Str("sent_at")!));
        Assert.That((sentAt["fast 01"] - sentAt["slow 00"]).TotalMinutes, Is.GreaterThan(100));
    }
}
