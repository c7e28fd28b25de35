using Mesh.Testing;

namespace Mesh.IntegrationTests.Faults;

/// <summary>A home's files damaged, and etcd's data gone back or gone: what etcd or the home still holds is shown,
/// once, and put back where it was lost.</summary>
public sealed class LocalDataTests : EtcdFixture
{
    private static void FlipByte(string path, double at, byte mask)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[(int)(bytes.Length * at)] ^= mask;
        File.WriteAllBytes(path, bytes);
    }

    [Test]
    public async Task One_flipped_byte_in_the_local_history_copy_costs_nothing_that_etcd_holds()
    {
        var group = NewGroup("flipcopy");
        var (writer, reader) = await StartPairAsync(group, "wren", "reed");
        var sent = Enumerable.Range(0, 300).Select(i => $"message {i:D4}").ToList();
        await writer.SendManyAsync(sent);
        await reader.WaitForAsync(p => Texts(p, group).Count(t => t.StartsWith("message ")) == 300, Long, "300 live");
        await reader.DisposeAsync();

        var copy = Path.Combine(reader.Home, "history", group + ".log");
        FlipByte(copy, 0.5, 0x20);
        var back = StartPeer("reed", [group], reader.Home);
        await back.WaitReadyAsync(group, Long);
        await MarkAsync(writer, group, back);

        var report = FaultReport.Of("one flipped byte in the local history copy, then a restart", sent,
            Texts(back, group).Where(t => t.StartsWith("message ")).ToList(), TimeSpan.Zero);
        report.Publish();
        Assert.That(report.Missing, Is.Zero, "the damaged record is read again from etcd");
        Assert.That(report.Duplicated, Is.Zero);
        Assert.That(Texts(back, group).Where(t => t.StartsWith("message ")), Is.EqualTo(sent), "in the order sent");
        Assert.That(back.Of("error").Select(e => e.Str("message")), Has.Some.Contains("damaged record"));

        // The copy was rewritten clean: the next start reads it without a word and still shows everything.
        await back.DisposeAsync();
        var third = StartPeer("reed", [group], reader.Home);
        await third.WaitReadyAsync(group, Long);
        await MarkAsync(writer, group, third);
        Assert.That(Texts(third, group).Where(t => t.StartsWith("message ")), Is.EqualTo(sent));
        Assert.That(third.Of("error").Select(e => e.Str("message")), Has.None.Contains("damaged"));
    }

    [Test]
    public async Task One_flipped_bit_in_the_outbox_is_said_and_the_local_copy_puts_that_record_back()
    {
        var group = NewGroup("flipout");
        var home = NewHome("sam");
        var sender = StartPeer("sam", [group], home);
        await sender.WaitReadyAsync(group);
        await sender.SendAsync("before the outage");
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 1, Long, "first message in history");

        Etcd.Kill();
        try
        {
            await sender.WaitForAsync(p => p.Of("disconnected").Count > 0, TimeSpan.FromSeconds(30), "etcd lost");
            var sent = Enumerable.Range(0, 100).Select(i => $"kept {i:D3}").ToList();
            await sender.SendManyAsync(sent);
            await sender.WaitForAsync(p => Texts(p, group).Count(t => t.StartsWith("kept ")) == 100, Long, "100 shown as sent");
            Assert.That(await sender.CloseAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(0));
        }
        finally
        {
            await Etcd.StartAsync();
        }

        var segment = Directory.GetFiles(Path.Combine(home, "outbox"), "segment-*.log").Single();
        FlipByte(segment, 0.1, 0x04);
        var back = StartPeer("sam", [group], home);
        await back.WaitReadyAsync(group, Long);
        await back.SendAsync("marker");
        // The outbox lost one record, but the sender's local copy holds what it sent: that copy puts it back.
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 102, Long, "99 recovered, 1 put back, the first and the marker");
        var history = (await HistoryAsync(group, home)).Select(m => m.Str("text")!).ToList();
        Assert.That(history[0], Is.EqualTo("before the outage"));
        Assert.That(history[^1], Is.EqualTo("marker"));
        Assert.That(history.Where(t => t.StartsWith("kept ")), Is.EqualTo(Enumerable.Range(0, 100).Select(i => $"kept {i:D3}")),
            "the record lost to the flipped bit comes back from the local copy, and the 90 after it from the outbox");
        Assert.That(history.Distinct().Count(), Is.EqualTo(history.Count));
        Assert.That(back.Of("error").Select(e => e.Str("message")), Has.Some.Contains("1 damaged record"));
        Assert.That(Directory.GetFiles(Path.Combine(home, "outbox", "damaged")), Has.Length.EqualTo(1), "the damaged segment kept for inspection");
    }

    [Test]
    public async Task etcd_restored_from_an_older_snapshot_gets_back_what_members_hold_and_a_newer_copy_fetches_what_came_after()
    {
        var group = NewGroup("restore");
        var (writer, reader) = await StartPairAsync(group, "wren", "reed");
        var before = Enumerable.Range(0, 10).Select(i => $"before {i}").ToList();
        await writer.SendManyAsync(before);
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 10, Long, "10 in history");
        var snapshot = Path.Combine(Path.GetTempPath(), $"mesh-snap-{Guid.NewGuid():N}.db");
        Etcd.SnapshotSave(snapshot);
        try
        {
            var lost = Enumerable.Range(0, 20).Select(i => $"after the snapshot {i}").ToList();
            await writer.SendManyAsync(lost);
            await reader.WaitForAsync(p => Texts(p, group).Count == 30, Long, "30 at the reader");
            await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 30, Long, "30 in history");
            await reader.DisposeAsync();
            await writer.DisposeAsync();

            await Etcd.RestoreAsync(snapshot);
            Assert.That(Etcd.CountMessages($"/mesh/history/{group}/"), Is.EqualTo(10), "the restore took etcd back");

            // A newcomer writes after the restore, so that etcd's revision moves on past where it was before.
            var writerBack = StartPeer("wren", [group], writer.Home);
            await writerBack.WaitReadyAsync(group, Long);
            var later = Enumerable.Range(0, 20).Select(i => $"after the restore {i}").ToList();
            await writerBack.SendManyAsync(later);

            var readerBack = StartPeer("reed", [group], reader.Home);
            await readerBack.WaitReadyAsync(group, Long);
            await MarkAsync(writerBack, group, readerBack);
            var expected = before.Concat(lost).Concat(later).ToList();
            var shown = Counted(readerBack, group).Select(m => m.Str("text")!).ToList();
            var report = FaultReport.Of("etcd restored from an older snapshot, writes after the restore, a member with a newer copy returns",
                expected, shown, TimeSpan.Zero);
            report.Publish();
            Assert.That(report.Missing, Is.Zero, string.Join(", ", expected.Except(shown).Take(5)));
            Assert.That(report.Duplicated, Is.Zero);

            // What the restore lost is back in etcd, from the members' copies: a late joiner sees all of it.
            await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 51, Long, "all 50 and the marker in etcd again");
            var history = (await HistoryAsync(group, readerBack.Home)).Select(m => m.Str("text")!).ToList();
            Assert.That(history.Where(t => !t.StartsWith("marker ")).Order(), Is.EqualTo(expected.Order()));
        }
        finally
        {
            File.Delete(snapshot);
        }
    }

    [Test]
    public async Task etcd_replaced_by_an_empty_one_gets_the_group_back_from_its_member_and_no_key_file_is_overwritten()
    {
        var group = NewGroup("emptied");
        var home = NewHome("sole");
        var sole = StartPeer("sole", [group], home);
        await sole.WaitReadyAsync(group);
        var sent = Enumerable.Range(0, 30).Select(i => $"mine {i:D2}").ToList();
        await sole.SendManyAsync(sent);
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 30, Long, "30 in history");
        Assert.That(await sole.CloseAsync(), Is.EqualTo(0));
        var keyFile = Path.Combine(home, "keys", group + ".epochs");
        var keys = File.ReadAllBytes(keyFile);

        await Etcd.ReplaceWithEmptyAsync();
        Assert.That(Etcd.CountKeys("/mesh/").Count, Is.Zero);
        var back = StartPeer("sole", [group], home);
        await back.WaitReadyAsync(group, Long);
        await Waiting.UntilAsync(() => Etcd.CountMessages($"/mesh/history/{group}/") == 30, Long, "the 30 put back into etcd");
        Assert.That(File.ReadAllBytes(keyFile), Is.EqualTo(keys), "the group key file is never overwritten");
        Assert.That(Texts(back, group), Is.EqualTo(sent));
        var history = (await HistoryAsync(group, home)).Select(m => m.Str("text")).ToList();
        Assert.That(history, Is.EqualTo(sent), "readable with the keys this home always had");

        // A home that holds keys but no copy of the log (its copy lost) is not allowed to make a new group silently.
        await back.DisposeAsync();
        await Etcd.ReplaceWithEmptyAsync();
        File.Delete(Path.Combine(home, "groups", group + ".log"));
        var refused = StartPeer("sole", [group], home);
        await refused.WaitForAsync(p => p.Exited, Long, "the peer to refuse");
        Assert.That(File.ReadAllText(refused.StderrPath), Does.Contain("--recreate"));
        Assert.That(File.ReadAllBytes(keyFile), Is.EqualTo(keys));
        var recreated = StartPeer("sole", [group], home, "--recreate");
        await recreated.WaitReadyAsync(group, Long);
        Assert.That(Directory.GetFiles(Path.Combine(home, "replaced"), "*.epochs", SearchOption.AllDirectories).Select(File.ReadAllBytes),
            Has.Some.EqualTo(keys), "the old keys kept aside");
    }
}
