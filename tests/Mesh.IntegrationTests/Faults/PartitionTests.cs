using System.Diagnostics;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Faults;

/// <summary>Two peers cut off from each other (not from etcd) keep receiving each other's messages through history,
/// and their links come back when the partition heals.</summary>
public sealed class PartitionTests : EtcdFixture
{
    [Test]
    public async Task Two_peers_cut_off_from_each_other_and_healed_lose_and_duplicate_nothing()
    {
        var group = NewGroup("split");
        // Each peer publishes behind a proxy: cutting both proxies partitions the two, and only the two.
        var alicePort = FreePort.Next();
        var bobPort = FreePort.Next();
        using var toAlice = new TcpProxy(alicePort);
        using var toBob = new TcpProxy(bobPort);
        var alice = StartPeer("alice", [group], null, "--bind", $"tcp://127.0.0.1:{alicePort}", "--advertise", $"tcp://127.0.0.1:{toAlice.Port}");
        var bob = StartPeer("bob", [group], null, "--bind", $"tcp://127.0.0.1:{bobPort}", "--advertise", $"tcp://127.0.0.1:{toBob.Port}");
        await alice.WaitReadyAsync(group);
        await bob.WaitReadyAsync(group);
        await alice.WaitForAsync(p => OnlineNames(p, group).Contains("bob"), Long, "bob online");
        await bob.WaitForAsync(p => OnlineNames(p, group).Contains("alice"), Long, "alice online");
        await alice.SendAsync("before the split");
        await bob.WaitForAsync(p => p.Messages(group).Count == 1, Long, "first message live");

        toAlice.Cut();
        toBob.Cut();
        await alice.WaitForAsync(p => p.Of("disconnected").Any(e => e.Str("target") == "bob"), Long, "alice loses her link to bob");
        await bob.WaitForAsync(p => p.Of("disconnected").Any(e => e.Str("target") == "alice"), Long, "bob loses his link to alice");

        var fromAlice = Enumerable.Range(0, 50).Select(i => $"alice during {i}").ToList();
        var fromBob = Enumerable.Range(0, 50).Select(i => $"bob during {i}").ToList();
        await alice.SendManyAsync(fromAlice);
        await bob.SendManyAsync(fromBob);
        // No link between them, yet each gets the other's messages: through history, in order.
        await alice.WaitForAsync(p => p.Messages(group).Count(m => m.Str("from") == "bob") == 50, Long, "bob's 50 via history");
        await bob.WaitForAsync(p => p.Messages(group).Count(m => m.Str("from") == "alice") == 51, Long, "alice's 51 via history");

        var clock = Stopwatch.StartNew();
        toAlice.Restore();
        toBob.Restore();
        await alice.WaitForAsync(p => p.Of("reconnected").Any(e => e.Str("target") == "bob"), Long, "alice's link to bob back");
        await bob.WaitForAsync(p => p.Of("reconnected").Any(e => e.Str("target") == "alice"), Long, "bob's link to alice back");
        var recovery = clock.Elapsed;
        await bob.SendAsync("after the heal");
        await alice.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "after the heal"), Long, "live again");

        var sentByAlice = new[] { "before the split" }.Concat(fromAlice).ToList();
        var atBob = bob.Messages(group).Where(m => m.Str("from") == "alice").Select(m => m.Str("text")!).ToList();
        var atAlice = alice.Messages(group).Where(m => m.Str("from") == "bob").Select(m => m.Str("text")!).ToList();
        var report = FaultReport.Of("two peers cut off from each other, then healed", [.. sentByAlice, .. fromBob, "after the heal"],
            [.. atBob, .. atAlice], recovery);
        report.Publish();
        Assert.That(report.Missing, Is.Zero);
        Assert.That(report.Duplicated, Is.Zero);
        Assert.That(atBob, Is.EqualTo(sentByAlice), "alice's messages at bob: all, in the order sent");
        Assert.That(atAlice, Is.EqualTo(fromBob.Append("after the heal").ToList()), "bob's messages at alice: all, in the order sent");
    }
}
