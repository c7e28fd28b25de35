using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>A watch that falls behind a compaction re-reads what it missed: nothing lost, nothing twice.</summary>
public sealed class CompactionTests : EtcdFixture
{
    [Test]
    public async Task A_reader_whose_watch_was_compacted_away_reconciles_and_shows_every_message_once()
    {
        var group = NewGroup("compact");
        var writer = StartPeer("wren", group);
        await writer.WaitReadyAsync(group);
        // The reader reaches etcd through a proxy the test can cut; the writer goes straight to etcd.
        using var path = new TcpProxy(Etcd.ClientPort);
        var reader = PeerProcess.Start(path.Url, "reed", [group], null, "--lease-ttl", "120");
        try
        {
            await reader.WaitReadyAsync(group);
            await writer.WaitForAsync(p => OnlineNames(p, group).Contains("reed"), Long, "reed online");
            await reader.WaitForAsync(p => OnlineNames(p, group).Contains("wren"), Long, "wren online");

            // Cut off from etcd, the reader's watches miss the writes (its live link still carries them); the
            // compaction then removes the revisions those watches would resume from.
            path.Cut();
            await writer.SendManyAsync(Enumerable.Range(0, 200).Select(i => $"while away {i:D4}"));
            await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 200, Long, "200 in history");
            var (_, revision) = Etcd.CountKeys("/mesh/");
            Assert.That(Etcd.Etcdctl("compact", revision.ToString()).ExitCode, Is.EqualTo(0));
            path.Restore();
            // Each watch logs the compaction, then posts its re-read to the session loop.
            await Waiting.UntilAsync(() => File.ReadAllText(reader.StderrPath).Split("compacted up to").Length - 1 >= 2, Long,
                "both watches (members, history) to meet the compaction", () => reader.Tail());

            // The loop takes inputs in order: once this later message is shown, both re-reads have been handled.
            await writer.SendAsync("after the compaction");
            await reader.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "after the compaction"), Long, "a later message");
            var texts = reader.Messages(group).Select(m => m.Str("text")).ToList();
            Assert.That(texts, Has.Count.EqualTo(201), "every message, and the re-read of 200 added none twice");
            Assert.That(texts.Distinct().Count(), Is.EqualTo(201));
            Assert.That(reader.Of("left", group), Is.Empty, "the re-read of members still finds wren");
        }
        finally
        {
            await reader.DisposeAsync();
        }
    }

    [Test]
    public async Task A_newcomer_waiting_for_its_key_while_etcd_compacts_is_still_admitted()
    {
        var group = NewGroup("grantcompact");
        var creator = StartPeer("cora", group);
        await creator.WaitReadyAsync(group);
        Assert.That(await creator.CloseAsync(), Is.EqualTo(0));

        // No member online: the newcomer waits. It reaches etcd through a proxy the test cuts.
        using var path = new TcpProxy(Etcd.ClientPort);
        var newcomer = Track(PeerProcess.Start(path.Url, "nico", [group], null, "--lease-ttl", "120"));
        await newcomer.WaitForAsync(p => p.Of("waiting", group).Count > 0, Long, "nico waiting");
        path.Cut();

        // While it is cut off, a member comes back and admits it; then etcd compacts those revisions away.
        var back = Track(PeerProcess.Start(Etcd.Url, "cora", [group], creator.Home));
        await back.WaitReadyAsync(group, Long);
        await Waiting.UntilAsync(() => Etcd.CountKeys($"/mesh/keys/{group}/{newcomer.PeerId}/").Count > 0, Long, "nico's key granted");
        var (_, revision) = Etcd.CountKeys("/mesh/");
        Assert.That(Etcd.Etcdctl("compact", revision.ToString()).ExitCode, Is.EqualTo(0));
        path.Restore();

        await newcomer.WaitReadyAsync(group, Long);
        await back.SendAsync("welcome");
        await newcomer.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "welcome"), Long, "a message after the admission");
    }

    [Test]
    public async Task Cut_off_from_both_etcd_and_the_sender_while_etcd_compacts_a_reader_still_shows_every_message_once()
    {
        var group = NewGroup("double");
        // The writer publishes behind one proxy, the reader reaches etcd through another: the test cuts both.
        var writerPort = FreePort.Next();
        using var toWriter = new TcpProxy(writerPort);
        using var readerEtcd = new TcpProxy(Etcd.ClientPort);
        var writer = StartPeer("wren", [group], null, "--bind", $"tcp://127.0.0.1:{writerPort}", "--advertise", $"tcp://127.0.0.1:{toWriter.Port}");
        await writer.WaitReadyAsync(group);
        var reader = Track(PeerProcess.Start(readerEtcd.Url, "reed", [group], null, "--lease-ttl", "120"));
        await reader.WaitReadyAsync(group, Long);
        await reader.WaitForAsync(p => OnlineNames(p, group).Contains("wren"), Long, "wren online");
        await writer.SendAsync("before");
        await reader.WaitForAsync(p => p.Messages(group).Count == 1, Long, "the first message live");

        toWriter.Cut();
        readerEtcd.Cut();
        await reader.WaitForAsync(p => p.Of("disconnected").Any(e => e.Str("target") == "wren"), Long, "the link to wren lost");
        var away = Enumerable.Range(0, 12_000).Select(i => $"away {i:D5}").ToList();
        await writer.SendManyAsync(away);
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 12_001, Long, "12,001 in history");
        var (_, revision) = Etcd.CountKeys("/mesh/");
        Assert.That(Etcd.Etcdctl("compact", revision.ToString()).ExitCode, Is.EqualTo(0));

        // The link comes back first: a new message arrives 12,000 numbers ahead, waits, and is released past the gap.
        toWriter.Restore();
        await reader.WaitForAsync(p => p.Of("reconnected").Any(e => e.Str("target") == "wren"), Long, "the link to wren back");
        await writer.SendAsync("live after");
        await reader.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "live after"), Long, "the live message, past the gap");
        // Then etcd: the history watch meets the compaction and the re-read brings every skipped message, once.
        readerEtcd.Restore();
        await writer.SendAsync("marker");
        await reader.WaitForAsync(p => p.Messages(group).Count(m => m.Str("text")!.StartsWith("away ")) == 12_000
            && p.Messages(group).Any(m => m.Str("text") == "marker"), Long, "the 12,000 from history and the marker");
        var expected = new[] { "before" }.Concat(away).Append("live after").Append("marker").ToList();
        var report = Faults.FaultReport.Of("reader cut off from etcd and from the sender while etcd compacted (12,000 messages)",
            expected, reader.Messages(group).Select(m => m.Str("text")!).ToList(), TimeSpan.Zero);
        report.Publish();
        Assert.That(report.Missing, Is.Zero);
        Assert.That(report.Duplicated, Is.Zero, "no skipped number taken for a copy");

        // The copy never recorded a revision past what it had not read: a restart shows the same, once, in order.
        Assert.That(await reader.CloseAsync(), Is.EqualTo(0));
        var back = Track(PeerProcess.Start(Etcd.Url, "reed", [group], reader.Home));
        await back.WaitReadyAsync(group, Long);
        await writer.SendAsync("second marker");
        await back.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "second marker"), Long, "the second marker");
        var texts = back.Messages(group).Select(m => m.Str("text")!).ToList();
        Assert.That(texts, Is.EqualTo(expected.Append("second marker")), "every message once, in the group's order");
    }
}
