using System.Text;
using Mesh.Coordinator.History;
using Mesh.Peer.Home;

namespace Mesh.UnitTests.Home;

[Category("Unit")]
public sealed class OutboxTests
{
    private string _dir = "";

    [SetUp]
    public void NewDirectory() => _dir = Path.Combine(Path.GetTempPath(), $"mesh-outbox-{Guid.NewGuid():N}");

    [TearDown]
    public void Remove()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static HistoryEntry Entry(int i) => new("ops", $"{i:D13}-peer", Encoding.UTF8.GetBytes($"sealed {i}"));

    private static string[] Names(IEnumerable<HistoryEntry> entries) => entries.Select(e => e.Name).ToArray();

    [Test]
    public void A_full_outbox_refuses_the_burst_whole_keeps_what_it_had_and_takes_more_once_etcd_took_some()
    {
        using var outbox = new Outbox(_dir, maxBytes: 4_000);
        outbox.Recover();
        var i = 0;
        while (true)
        {
            try
            {
                outbox.Append([Entry(i), Entry(i + 1)]);
                i += 2;
            }
            catch (OutboxFullException e)
            {
                Assert.That(e.Message, Does.Contain("MiB of sent messages that etcd has not taken yet"));
                break;
            }

            Assert.That(i, Is.LessThan(10_000), "the bound holds");
        }

        Assert.That(outbox.Bytes, Is.LessThanOrEqualTo(4_000));
        Assert.That(outbox.Pending, Is.EqualTo(i), "the refused burst left nothing behind");
        outbox.Acknowledge(i);
        outbox.Append(Entry(i));
        Assert.That(outbox.Pending, Is.EqualTo(1));
    }

    [Test]
    public void The_bound_counts_what_a_previous_run_left()
    {
        using (var outbox = new Outbox(_dir))
        {
            outbox.Recover();
            for (var i = 0; i < 50; i++)
            {
                outbox.Append(Entry(i));
            }
        }

        using var again = new Outbox(_dir, maxBytes: 100);
        Assert.That(again.Recover().Entries, Has.Count.EqualTo(50));
        Assert.That(again.Bytes, Is.GreaterThan(100));
        Assert.Throws<OutboxFullException>(() => again.Append(Entry(50)));
    }

    [Test]
    public void What_was_not_acknowledged_comes_back_in_order_after_a_restart()
    {
        using (var outbox = new Outbox(_dir))
        {
            Assert.That(outbox.Recover().Entries, Is.Empty);
            for (var i = 0; i < 10; i++)
            {
                outbox.Append(Entry(i));
            }

            outbox.Acknowledge(4);
            Assert.That(outbox.Pending, Is.EqualTo(6));
        }

        // Acknowledgements are not written down: a restart writes the whole unfinished segment again, which is
        // harmless (create-only) and loses nothing.
        using var again = new Outbox(_dir);
        var recovered = again.Recover().Entries;
        Assert.That(Names(recovered), Is.EqualTo(Names(Enumerable.Range(0, 10).Select(Entry))));
        Assert.That(recovered[3].Value, Is.EqualTo(Entry(3).Value));
        Assert.That(recovered[3].Group, Is.EqualTo("ops"));
    }

    [Test]
    public void A_fully_acknowledged_outbox_leaves_nothing_on_disk()
    {
        using (var outbox = new Outbox(_dir))
        {
            outbox.Recover();
            for (var i = 0; i < 5; i++)
            {
                outbox.Append(Entry(i));
            }

            outbox.Acknowledge(5);
            Assert.That(outbox.Pending, Is.Zero);
            Assert.That(Directory.GetFiles(_dir), Is.Empty);
            outbox.Append(Entry(5));
        }

        using var again = new Outbox(_dir);
        Assert.That(Names(again.Recover().Entries), Is.EqualTo(new[] { Entry(5).Name }));
    }

    [Test]
    public void Recovered_records_are_acknowledged_first_and_their_segment_removed()
    {
        using (var outbox = new Outbox(_dir))
        {
            outbox.Recover();
            outbox.Append(Entry(0));
            outbox.Append(Entry(1));
        }

        using var again = new Outbox(_dir);
        Assert.That(again.Recover().Entries, Has.Count.EqualTo(2));
        again.Append(Entry(2));
        again.Acknowledge(2);
        Assert.That(Directory.GetFiles(_dir), Has.Length.EqualTo(1), "the recovered segment is gone, the new one stays");
        again.Acknowledge(1);
        Assert.That(Directory.GetFiles(_dir), Is.Empty);
    }

    [Test]
    public void A_record_torn_by_a_crash_ends_recovery_without_corrupting_what_came_before()
    {
        using (var outbox = new Outbox(_dir))
        {
            outbox.Recover();
            for (var i = 0; i < 3; i++)
            {
                outbox.Append(Entry(i));
            }
        }

        var segment = Directory.GetFiles(_dir).Single();
        var bytes = File.ReadAllBytes(segment);
        File.WriteAllBytes(segment, bytes[..^5]);
        using var again = new Outbox(_dir);
        Assert.That(Names(again.Recover().Entries), Is.EqualTo(Names(new[] { Entry(0), Entry(1) })));
    }

    [Test]
    public void Secret_material_stays_owner_only()
    {
        using var outbox = new Outbox(_dir);
        outbox.Recover();
        outbox.Append(Entry(0));
        Assert.That(File.GetUnixFileMode(Directory.GetFiles(_dir).Single()), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    [Test]
    public void A_flipped_bit_in_the_middle_costs_one_record_and_is_reported()
    {
        using (var outbox = new Outbox(_dir))
        {
            outbox.Recover();
            for (var i = 0; i < 100; i++)
            {
                outbox.Append(Entry(i));
            }
        }

        var segment = Directory.GetFiles(_dir).Single();
        var bytes = File.ReadAllBytes(segment);
        bytes[bytes.Length / 10] ^= 0x10;
        File.WriteAllBytes(segment, bytes);

        using var again = new Outbox(_dir);
        var recovery = again.Recover();
        Assert.That(recovery.Entries, Has.Count.EqualTo(99), "the records after the damaged one are kept");
        Assert.That(recovery.Damaged, Is.EqualTo(1));
        Assert.That(Directory.GetFiles(recovery.DamagedDirectory), Has.Length.EqualTo(1), "a copy of the damaged segment is kept");
        Assert.That(again.Pending, Is.EqualTo(99));
    }

    [Test]
    public void A_complete_last_record_that_fails_its_checksum_is_damage_not_a_torn_write()
    {
        using (var outbox = new Outbox(_dir))
        {
            outbox.Recover();
            outbox.Append(Entry(0));
            outbox.Append(Entry(1));
        }

        var segment = Directory.GetFiles(_dir).Single();
        var bytes = File.ReadAllBytes(segment);
        bytes[^2] ^= 0x01;
        File.WriteAllBytes(segment, bytes);
        using var again = new Outbox(_dir);
        var recovery = again.Recover();
        Assert.That(Names(recovery.Entries), Is.EqualTo(new[] { Entry(0).Name }));
        Assert.That(recovery.Damaged, Is.EqualTo(1));
    }

    [Test]
    public void An_append_does_not_wait_for_a_sync_in_progress()
    {
        using var syncing = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        using var outbox = new Outbox(_dir, Outbox.DefaultMaxBytes, stream =>
        {
            syncing.Set();
            release.Wait(TimeSpan.FromSeconds(30));
            stream.Flush(flushToDisk: true);
        }, Timeout.InfiniteTimeSpan);
        outbox.Recover();
        outbox.Append(Entry(0));
        var sync = Task.Run(outbox.Sync);
        Assert.That(syncing.Wait(TimeSpan.FromSeconds(10)), Is.True, "the sync started");

        var append = Task.Run(() => outbox.Append(Entry(1)));
        Assert.That(append.Wait(TimeSpan.FromSeconds(10)), Is.True, "the append went on while the disk was syncing");
        Assert.That(sync.IsCompleted, Is.False);
        release.Set();
        Assert.That(sync.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(outbox.Pending, Is.EqualTo(2));
    }

    [Test]
    public void A_full_segment_reaches_the_disk_at_the_next_sync_not_in_the_append_that_rolls_it()
    {
        var synced = 0;
        using var outbox = new Outbox(_dir, Outbox.DefaultMaxBytes, stream =>
        {
            Interlocked.Increment(ref synced);
            stream.Flush(flushToDisk: true);
        }, Timeout.InfiniteTimeSpan);
        outbox.Recover();
        var large = new byte[1024 * 1024];
        for (var i = 0; Directory.GetFiles(_dir).Length < 2; i++)
        {
            outbox.Append(new HistoryEntry("ops", $"{i:D13}-peer", large));
        }

        Assert.That(synced, Is.Zero, "the append that rolled the segment did not sync it");
        outbox.Sync();
        Assert.That(synced, Is.EqualTo(2), "the full segment and the current one");
        outbox.Sync();
        Assert.That(synced, Is.EqualTo(2), "nothing appended since: nothing to sync");
    }

    [Test]
    public void A_failed_sync_is_thrown_and_the_next_one_tries_again()
    {
        var failures = 1;
        var synced = 0;
        using var outbox = new Outbox(_dir, Outbox.DefaultMaxBytes, stream =>
        {
            if (Interlocked.Decrement(ref failures) >= 0)
            {
                throw new IOException("disk on fire");
            }

            synced++;
        }, Timeout.InfiniteTimeSpan);
        outbox.Recover();
        outbox.Append(Entry(0));
        Assert.That(outbox.Sync, Throws.InstanceOf<IOException>().With.Message.EqualTo("disk on fire"));
        outbox.Sync();
        Assert.That(synced, Is.EqualTo(1));
    }
}
