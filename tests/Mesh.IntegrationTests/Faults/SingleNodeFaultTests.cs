using System.Diagnostics;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Faults;

/// <summary>Faults around a single etcd: an outage during a chat, and a peer frozen past its lease.</summary>
public sealed class SingleNodeFaultTests : EtcdFixture
{
    [Test]
    public async Task Etcd_down_for_20_seconds_during_a_chat_loses_and_duplicates_nothing()
    {
        var group = NewGroup("down20");
        var (alice, bob) = await StartPairAsync(group, "alice", "bob");
        var sent = new List<string>();
        async Task Say(PeerProcess from, string text)
        {
            sent.Add(text);
            await from.SendAsync(text);
        }

        await Say(alice, "before");
        Etcd.Kill();
        await alice.WaitForAsync(p => p.Of("disconnected").Any(e => e.Str("kind") == "etcd"), TimeSpan.FromSeconds(20), "etcd lost");
        var down = Stopwatch.StartNew();
        var i = 0;
        // Twenty seconds of chat without etcd, both ways; each message waits for its delivery, so this paces itself.
        while (down.Elapsed < TimeSpan.FromSeconds(20))
        {
            var text = $"during {i++}";
            var (from, to) = i % 2 == 0 ? (alice, bob) : (bob, alice);
            await Say(from, text);
            await to.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == text), Long, text);
        }

        await Etcd.StartAsync();
        var clock = Stopwatch.StartNew();
        await Say(alice, "after");
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == sent.Count, Long, $"{sent.Count} in history");
        var recovery = clock.Elapsed;
        await bob.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "after"), Long, "after");

        var report = FaultReport.Of("etcd down for 20 s during a chat", sent, bob.Messages(group).Select(m => m.Str("text")!).ToList(), recovery);
        report.Publish();
        Assert.That(report.Missing, Is.Zero);
        Assert.That(report.Duplicated, Is.Zero);
        var history = await HistoryAsync(group, alice.Home);
        Assert.That(history.Select(m => m.Str("text")).Order(), Is.EqualTo(sent.Order()), "history: every message, once");
    }

    [Test]
    public async Task A_peer_frozen_for_twice_its_lease_registers_again_and_catches_up()
    {
        var group = NewGroup("frozen");
        var watcher = StartPeer("watcher", group);
        await watcher.WaitReadyAsync(group);
        var sleeper = StartPeer("sleeper", [group], null, "--lease-ttl", "3");
        await sleeper.WaitReadyAsync(group);
        await watcher.WaitForAsync(p => OnlineNames(p, group).Contains("sleeper"), Long, "sleeper online");

        var frozen = Stopwatch.StartNew();
        sleeper.Signal(PeerProcess.SIGSTOP);
        // Its lease expires: everyone sees it leave.
        await watcher.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "sleeper"), Long, "sleeper left");
        var sent = Enumerable.Range(0, 50).Select(i => $"while asleep {i}").ToList();
        await watcher.SendManyAsync(sent);
        await Waiting.UntilAsync(() => frozen.Elapsed >= TimeSpan.FromSeconds(6) && Etcd.CountMessages($"/mesh/history/{group}/") == 50,
            Long, "twice the TTL frozen, and the messages in history");

        var clock = Stopwatch.StartNew();
        sleeper.Signal(PeerProcess.SIGCONT);
        // Back: it finds its registration gone, registers again, and the others see it return.
        await watcher.WaitForAsync(p => p.Of("joined", group).Count(e => e.Str("name") == "sleeper") >= 2, Long, "sleeper back");
        var recovery = clock.Elapsed;
        await sleeper.WaitForAsync(p => p.Messages(group).Count >= 50, Long, "caught up");
        await MarkAsync(watcher, group, sleeper);
        await sleeper.SendAsync("good morning");
        await watcher.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "good morning"), Long, "its message after");

        var fromWatcher = Counted(sleeper, group).Where(m => m.Str("from") == "watcher").Select(m => m.Str("text")!).ToList();
        var report = FaultReport.Of("peer frozen (SIGSTOP) for twice its lease TTL", sent, fromWatcher, recovery);
        report.Publish();
        Assert.That(report.Missing, Is.Zero);
        Assert.That(report.Duplicated, Is.Zero);
        Assert.That(sleeper.Of("error").Any(e => e.Str("message")!.Contains("registration lost")), Is.True, "it told the user");
    }
}
