using Mesh.Testing;

namespace Mesh.IntegrationTests.Faults;

/// <summary>A full disk and a home turned read-only: one clear error each, live chat goes on where it can, nothing
/// shown as sent is lost, and the peer still leaves cleanly at end of input.</summary>
public sealed class DiskTests : EtcdFixture
{
    private static IEnumerable<string> Errors(PeerProcess peer) => peer.Of("error").Select(e => e.Str("message")!);

    [Test]
    public async Task A_full_disk_costs_the_messages_it_refused_and_says_so_and_nothing_crashes()
    {
        var group = NewGroup("fulldisk");
        using var disk = Mounts.Tmpfs(16);
        var home = System.IO.Path.Combine(disk.Path, "home");
        var sender = StartPeer("sam", [group], home);
        var other = StartPeer("ola", group);
        await sender.WaitReadyAsync(group, Long);
        await other.WaitReadyAsync(group, Long);
        await sender.WaitForAsync(p => OnlineNames(p, group).Contains("ola"), Long, "ola online");
        await sender.SendAsync("before the disk filled");
        await other.WaitForAsync(p => Texts(p, group).Contains("before the disk filled"), Long, "the first message");

        // Once etcd has the first message its outbox segment is deleted, so the next message needs a fresh file.
        // Before that, the segment's last page still has room on tmpfs and the message would rightly be kept.
        var outbox = System.IO.Path.Combine(home, "outbox");
        await Waiting.UntilAsync(() => !Directory.EnumerateFiles(outbox, "segment-*.log").Any(), Long, "the first message acknowledged by etcd");
        var filler = disk.Fill();
        await sender.SendAsync("while full");
        await sender.WaitForAsync(p => Errors(p).Any(e => e.Contains("not sent") && e.Contains("No space left")), Long, "a clear error for the refused message");
        // What others send still arrives: the copy cannot take it, which is said once.
        await other.SendManyAsync(Enumerable.Range(0, 20).Select(i => $"to a full disk {i}"));
        await sender.WaitForAsync(p => Texts(p, group).Count(t => t.StartsWith("to a full disk")) == 20, Long, "live chat goes on");
        await sender.WaitForAsync(p => Errors(p).Any(e => e.Contains("local history copy") && e.Contains("cannot be written")), Long, "the copy's error");
        Assert.That(Errors(sender).Count(e => e.Contains("local history copy")), Is.EqualTo(1), "said once, not per message");

        File.Delete(filler);
        await sender.SendAsync("after the disk was freed");
        await other.WaitForAsync(p => Texts(p, group).Contains("after the disk was freed"), Long, "sending works again");
        Assert.That(Texts(other, group), Has.None.EqualTo("while full"), "a message refused by the outbox was never published");
        Assert.That(Texts(sender, group), Has.None.EqualTo("while full"), "nor shown as sent");
        Assert.That(await sender.CloseAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(0), "a clean exit at end of input");

        var history = (await HistoryAsync(group, other.Home)).Select(m => m.Str("text")).ToList();
        Assert.That(history, Does.Contain("after the disk was freed").And.Contain("before the disk filled").And.Not.Contain("while full"));

        // The copy stopped where it was complete: the next start reads what it missed from etcd, once.
        var back = StartPeer("sam", [group], home);
        await back.WaitReadyAsync(group, Long);
        await MarkAsync(other, group, back);
        var texts = Texts(back, group);
        Assert.That(texts.Count(t => t.StartsWith("to a full disk")), Is.EqualTo(20));
        Assert.That(texts.Distinct().Count(), Is.EqualTo(texts.Count));
    }

    [Test]
    public async Task A_home_turned_read_only_keeps_live_chat_and_exits_cleanly_at_end_of_input()
    {
        var group = NewGroup("rohome");
        var writer = StartPeer("wren", group);
        // The copy's error comes when its revision is next written, after a read of etcd: every 2 s here instead of
        // every 30 s, so the test does not sit out a periodic read.
        var reader = Track(PeerProcess.Start(Etcd.Url, "reed", [group], null, new Dictionary<string, string> { ["MESH_SWEEP_INTERVAL"] = "2s" }));
        await writer.WaitReadyAsync(group, Long);
        await reader.WaitReadyAsync(group, Long);
        await writer.WaitForAsync(p => OnlineNames(p, group).Contains("reed"), Long, "reed online");
        await reader.WaitForAsync(p => OnlineNames(p, group).Contains("wren"), Long, "wren online");
        await writer.SendAsync("before");
        await reader.WaitForAsync(p => Texts(p, group).Contains("before"), Long, "the first message");

        int code;
        using (Mounts.ReadOnly(reader.Home))
        {
            var sent = Enumerable.Range(0, 50).Select(i => $"to a read-only home {i:D2}").ToList();
            await writer.SendManyAsync(sent);
            await reader.WaitForAsync(p => Texts(p, group).Count(t => t.StartsWith("to a read-only home")) == 50, Long, "live chat goes on");
            await reader.WaitForAsync(p => Errors(p).Any(e => e.Contains("local history copy") && e.Contains("cannot be written")), Long, "the copy's error");
            await reader.SendAsync("from a read-only home");
            await reader.WaitForAsync(p => Errors(p).Any(e => e.Contains("not sent") && e.Contains("outbox")), Long, "the outbox's error");
            code = await reader.CloseAsync(TimeSpan.FromSeconds(60));
        }

        Assert.That(code, Is.EqualTo(0), "end of input still ends the peer cleanly");
        Assert.That(Texts(writer, group), Has.None.EqualTo("from a read-only home"));

        var back = StartPeer("reed", [group], reader.Home);
        await back.WaitReadyAsync(group, Long);
        await MarkAsync(writer, group, back);
        var texts = Texts(back, group);
        Assert.That(texts.Count(t => t.StartsWith("to a read-only home")), Is.EqualTo(50), "what the copy could not take is read from etcd");
        Assert.That(texts.Distinct().Count(), Is.EqualTo(texts.Count));
    }
}
