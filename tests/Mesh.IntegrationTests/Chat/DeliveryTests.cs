using System.Text.Json;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>Every member sees every message exactly once, each sender's in order, and history holds them all.</summary>
public sealed class DeliveryTests : EtcdFixture
{
    [Test]
    public async Task Five_peers_sending_200_each_all_see_1000_exactly_once_in_sender_order()
    {
        var group = NewGroup("five");
        var names = new[] { "p1", "p2", "p3", "p4", "p5" };
        var peers = names.Select(n => StartPeer(n, group)).ToList();
        foreach (var peer in peers)
        {
            await peer.WaitReadyAsync(group, Long);
        }

        // Everyone has seen everyone come online, so nobody is still connecting when the burst starts.
        foreach (var peer in peers)
        {
            await peer.WaitForAsync(p => OnlineNames(p, group).Count == names.Length, Long, "all five online");
        }

        await Task.WhenAll(peers.Select(p => p.SendManyAsync(Enumerable.Range(0, 200).Select(i => $"{p.Name}:{i}"))));

        foreach (var peer in peers)
        {
            await peer.WaitForAsync(p => p.Messages(group).Count >= 1000, Long, "1000 messages");
        }

        await Waiting.UntilAsync(() => HistoryCount(group) == 1000, Long, "1000 in history");
        await MarkAsync(peers[0], group, [.. peers]);
        foreach (var peer in peers)
        {
            var messages = Counted(peer, group);
            Assert.That(messages, Has.Count.EqualTo(1000), $"{peer.Name} message count");
            Assert.That(messages.Select(m => m.Str("id")).Distinct().Count(), Is.EqualTo(1000), $"{peer.Name}: duplicate ids");
            AssertSenderOrder(messages, names, 200, peer.Name);
        }

        var history = (await HistoryAsync(group, peers[0].Home)).Where(m => !m.Str("text")!.StartsWith("marker ")).ToList();
        Assert.That(history, Has.Count.EqualTo(1000));
        Assert.That(history.Select(m => m.Str("id")).ToHashSet(),
            Is.EquivalentTo(Counted(peers[0], group).Select(m => m.Str("id"))));
        AssertSenderOrder(history, names, 200, "history");
        foreach (var peer in peers)
        {
            Assert.That(peer.Unparsable, Is.Zero, $"{peer.Name} printed non-JSON on stdout");
        }
    }

    [Test]
    public async Task A_late_joiner_sees_all_earlier_messages_in_order_then_live_ones_none_twice()
    {
        var group = NewGroup("late");
        var early = StartPeer("early", group);
        await early.WaitReadyAsync(group);
        await early.SendManyAsync(Enumerable.Range(0, 500).Select(i => $"early:{i}"));
        await early.WaitForAsync(p => p.Messages(group).Count == 500, Long, "own 500");
        await Waiting.UntilAsync(() => HistoryCount(group) == 500, Long, "500 messages in history");

        var late = StartPeer("late", group);
        await late.WaitReadyAsync(group, Long);
        Assert.That(late.Messages(group), Has.Count.EqualTo(500), "history delivered before ready");
        await early.WaitForAsync(p => p.Of("joined", group).Any(e => e.Str("name") == "late"), Long, "late joined");

        await early.SendManyAsync(Enumerable.Range(500, 100).Select(i => $"early:{i}"));
        await late.WaitForAsync(p => p.Messages(group).Count >= 600, Long, "600 messages");
        await Waiting.UntilAsync(() => HistoryCount(group) == 600, Long, "600 messages in history");
        await MarkAsync(early, group, late);

        var texts = Counted(late, group).Select(m => m.Str("text")).ToList();
        Assert.That(texts, Is.EqualTo(Enumerable.Range(0, 600).Select(i => $"early:{i}").ToList()));
        Assert.That(Counted(late, group).Select(m => m.Str("id")).Distinct().Count(), Is.EqualTo(600));
    }

    [Test]
    public async Task Groups_are_isolated_and_a_peer_in_two_groups_sees_both_with_their_group()
    {
        var a = NewGroup("ga");
        var b = NewGroup("gb");
        var onlyA = StartPeer("only-a", a);
        var onlyB = StartPeer("only-b", b);
        var both = StartPeer("both", a, b);
        await onlyA.WaitReadyAsync(a);
        await onlyB.WaitReadyAsync(b);
        await both.WaitReadyAsync(a);
        await both.WaitReadyAsync(b);

        await onlyA.SendAsync("secret of a");
        await onlyB.SendAsync("secret of b");
        // Lines from "both" go to its first group; /switch moves them to the second.
        await both.SendAsync("both to a");
        await both.SendAsync($"/switch {b}");
        await both.SendAsync("both to b");

        await both.WaitForAsync(p => p.Messages(a).Count == 2 && p.Messages(b).Count == 2, Long, "two in each group");
        await onlyA.WaitForAsync(p => p.Messages(a).Count == 2, Long, "two in a");
        await onlyB.WaitForAsync(p => p.Messages(b).Count == 2, Long, "two in b");

        Assert.That(both.Messages(a).Select(m => m.Str("text")), Is.EquivalentTo(new[] { "secret of a", "both to a" }));
        Assert.That(both.Messages(b).Select(m => m.Str("text")), Is.EquivalentTo(new[] { "secret of b", "both to b" }));
        Assert.That(onlyA.Of("message").Select(m => m.Str("group")).Distinct(), Is.EquivalentTo(new[] { a }));
        Assert.That(onlyB.Of("message").Select(m => m.Str("group")).Distinct(), Is.EquivalentTo(new[] { b }));
        Assert.That(onlyA.Events.Any(e => e.Str("text") is "secret of b" or "both to b"), Is.False);

        // The history of each group is the group's alone.
        Assert.That((await HistoryAsync(a, onlyA.Home)).Select(m => m.Str("text")), Is.EquivalentTo(new[] { "secret of a", "both to a" }));
        Assert.That((await HistoryAsync(b, onlyB.Home)).Select(m => m.Str("text")), Is.EquivalentTo(new[] { "secret of b", "both to b" }));
    }

    [Test]
    public async Task Lines_and_commands_written_in_one_go_keep_their_order_and_their_groups()
    {
        var a = NewGroup("ca");
        var b = NewGroup("cb");
        var writer = StartPeer("writer", a, b);
        var reader = StartPeer("reader", a, b);
        foreach (var (peer, group) in new[] { (writer, a), (writer, b), (reader, a), (reader, b) })
        {
            await peer.WaitReadyAsync(group, Long);
        }

        await writer.WaitForAsync(p => OnlineNames(p, a).Contains("reader") && OnlineNames(p, b).Contains("reader"), Long, "reader online");

        // Typed faster than the peer takes them, so lines wait together and leave in bursts; a command in the middle
        // must still split them where it stands.
        List<string> typed = [.. Enumerable.Range(0, 50).Select(i => $"a:{i}"), $"/switch {b}", .. Enumerable.Range(0, 50).Select(i => $"b:{i}"),
            $"/switch {a}", .. Enumerable.Range(50, 10).Select(i => $"a:{i}")];
        await writer.SendManyAsync(typed);

        var inA = Enumerable.Range(0, 60).Select(i => $"a:{i}").ToList();
        var inB = Enumerable.Range(0, 50).Select(i => $"b:{i}").ToList();
        await reader.WaitForAsync(p => p.Messages(a).Count >= 60 && p.Messages(b).Count >= 50, Long, "every line at the reader");
        // The writer's own view is read from its own stdout, which may come later than the reader's under load.
        await writer.WaitForAsync(p => p.Of("message").Count >= 110, Long, "every line shown as sent at the writer");
        Assert.That(writer.Of("message").Select(m => m.Str("text")), Is.EqualTo(typed.Where(t => !t.StartsWith('/'))));
        // The writer is in group a again: a marker there, after one in b.
        await writer.SendAsync($"/switch {b}");
        await MarkAsync(writer, b, reader);
        await writer.SendAsync($"/switch {a}");
        await MarkAsync(writer, a, reader);
        Assert.That(Counted(reader, a).Select(m => m.Str("text")), Is.EqualTo(inA));
        Assert.That(Counted(reader, b).Select(m => m.Str("text")), Is.EqualTo(inB));
        Assert.That((await HistoryAsync(a, reader.Home)).Select(m => m.Str("text")).Where(t => !t!.StartsWith("marker ")), Is.EqualTo(inA));
        Assert.That((await HistoryAsync(b, reader.Home)).Select(m => m.Str("text")).Where(t => !t!.StartsWith("marker ")), Is.EqualTo(inB));
    }

    [Test]
    public async Task One_sender_5000_messages_reach_all_4_receivers_and_history_in_batched_writes()
    {
        var group = NewGroup("tput");
        var sender = StartPeer("sender", group);
        var receivers = Enumerable.Range(1, 4).Select(i => StartPeer($"r{i}", group)).ToList();
        await sender.WaitReadyAsync(group, Long);
        foreach (var r in receivers)
        {
            await r.WaitReadyAsync(group, Long);
        }

        await sender.WaitForAsync(p => OnlineNames(p, group).Count == 5, Long, "all receivers online");
        var before = Revision();
        await sender.SendManyAsync(Enumerable.Range(0, 5000).Select(i => $"m{i}"));
        foreach (var r in receivers)
        {
            await r.WaitForAsync(p => p.Messages(group).Count >= 5000, Long, "5000 messages");
        }

        await Waiting.UntilAsync(() => HistoryCount(group) >= 5000, Long, "5000 in history");
        var transactions = Revision() - before;
        await MarkAsync(sender, group, [.. receivers]);
        foreach (var r in receivers)
        {
            var texts = Counted(r, group).Select(m => m.Str("text")).ToList();
            Assert.That(texts, Is.EqualTo(Enumerable.Range(0, 5000).Select(i => $"m{i}").ToList()), $"{r.Name}: all 5000, in order, once");
        }

        Assert.That(HistoryCount(group), Is.EqualTo(5001), "the 5000 and the marker, none twice");
        // One revision per write transaction: batching means far fewer transactions than messages.
        TestContext.Out.WriteLine($"5000 messages persisted in {transactions} etcd revisions");
        Assert.That(transactions, Is.LessThan(2500), "history writes are batched");
    }

    [Test]
    public async Task A_member_talking_in_two_groups_numbers_each_without_gaps()
    {
        var a = NewGroup("two-a");
        var b = NewGroup("two-b");
        var writer = StartPeer("wren", a, b);
        await writer.WaitReadyAsync(a);
        await writer.WaitReadyAsync(b);
        // The reader is cut off from etcd once it is in: what it shows comes over the live link alone.
        using var readerEtcd = new TcpProxy(Etcd.ClientPort);
        var reader = Track(PeerProcess.Start(readerEtcd.Url, "reed", [a], null, "--lease-ttl", "120"));
        await reader.WaitReadyAsync(a, Long);
        await writer.WaitForAsync(p => OnlineNames(p, a).Contains("reed"), Long, "reed online");
        readerEtcd.Cut();

        await writer.SendManyAsync(["a one", $"/switch {b}", "b one", "b two", $"/switch {a}", "a two"]);
        await reader.WaitForAsync(p => p.Messages(a).Any(m => m.Str("text") == "a two"), Long, "the second message of a");
        var seqs = reader.Messages(a).Select(m => long.Parse(m.Str("id")!.Split(':')[2])).ToList();
        Assert.That(reader.Messages(a).Select(m => m.Str("text")), Is.EqualTo(new[] { "a one", "a two" }));
        Assert.That(seqs, Is.EqualTo(new long[] { 1, 2 }), "numbered per group: what was said in b leaves no gap in a to wait on");
        Assert.That(writer.Messages(b).Select(m => long.Parse(m.Str("id")!.Split(':')[2])), Is.EqualTo(new long[] { 1, 2 }));
        readerEtcd.Restore();
    }

    private long HistoryCount(string group) => Etcd.CountMessages($"/mesh/history/{group}/");

    private static void AssertSenderOrder(IReadOnlyList<JsonElement> messages, string[] senders, int each, string who)
    {
        foreach (var sender in senders)
        {
            var seen = messages.Where(m => m.Str("from") == sender).Select(m => m.Str("text")).ToList();
            Assert.That(seen, Is.EqualTo(Enumerable.Range(0, each).Select(i => $"{sender}:{i}").ToList()),
                $"{who}: messages of {sender} complete and in the order sent");
        }
    }
}
