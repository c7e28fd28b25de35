using System.Text;
using Mesh.Coordinator.History;
using Mesh.Peer.Home;

namespace Mesh.UnitTests.Home;

[Category("Unit")]
public sealed class LocalHistoryTests
{
    private string _dir = "";

    [SetUp]
    public void NewDirectory() => _dir = Path.Combine(Path.GetTempPath(), $"mesh-local-{Guid.NewGuid():N}");

    [TearDown]
    public void Remove()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static HistoryEntry[] Entries(int from, int count) =>
        [.. Enumerable.Range(from, count).Select(i => new HistoryEntry("ops", $"{i:D13}-peer", Encoding.UTF8.GetBytes($"sealed {i}")))];

    private string Revision() => File.ReadAllText(Path.Combine(_dir, "ops.rev"));

    [Test]
    public void The_copy_and_its_revision_are_readable_by_their_owner_alone()
    {
        using (var local = new LocalHistory(_dir))
        {
            local.Cluster = "c1";
            local.Append("ops", Entries(0, 2), 10);
        }

        var owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.That(File.GetUnixFileMode(Path.Combine(_dir, "ops.log")), Is.EqualTo(owner));
        Assert.That(File.GetUnixFileMode(Path.Combine(_dir, "ops.rev")), Is.EqualTo(owner));
    }

    [Test]
    public void The_first_append_is_written_down_at_once_later_ones_at_a_checkpoint()
    {
        // An interval no test run reaches: only the explicit checkpoint may write the second revision.
        using var local = new LocalHistory(_dir, TimeSpan.FromHours(1));
        local.Append("ops", Entries(0, 2), 10);
        Assert.That(Revision(), Is.EqualTo("10"));

        // Within the checkpoint interval the records reach the file, the revision waits for a checkpoint.
        local.Append("ops", Entries(2, 3), 20);
        Assert.That(Revision(), Is.EqualTo("10"));
        local.Checkpoint();
        Assert.That(Revision(), Is.EqualTo("20"));
    }

    [Test]
    public void Load_sees_every_append_and_its_revision_and_appends_go_on_after_it()
    {
        using (var local = new LocalHistory(_dir))
        {
            local.Append("ops", Entries(0, 2), 10);
            local.Append("ops", Entries(2, 3), 20);
            var (entries, revision, _, _) = local.Load("ops");
            Assert.That(entries.Select(e => e.Name), Is.EqualTo(Entries(0, 5).Select(e => e.Name)));
            Assert.That(revision, Is.EqualTo(20));

            local.Append("ops", Entries(5, 1), 30);
        }

        // Disposing writes the last revision down.
        using var reopened = new LocalHistory(_dir);
        var (all, last, _, _) = reopened.Load("ops");
        Assert.That(all, Has.Count.EqualTo(6));
        Assert.That(last, Is.EqualTo(30));
    }

    [Test]
    public void Records_beyond_the_revision_after_a_crash_are_kept_and_the_revision_is_older()
    {
        var local = new LocalHistory(_dir, TimeSpan.FromHours(1));
        local.Append("ops", Entries(0, 2), 10);
        local.Append("ops", Entries(2, 2), 20);

        // A crash: nothing disposed, no checkpoint. The records are in the file (flushed), the revision is behind,
        // so a restart asks etcd for everything after 10 and drops what it already holds as copies.
        using var restarted = new LocalHistory(_dir);
        var (entries, revision, _, _) = restarted.Load("ops");
        Assert.That(entries, Has.Count.EqualTo(4));
        Assert.That(revision, Is.EqualTo(10));
    }

    [Test]
    public void A_damaged_record_costs_that_record_alone_and_sends_the_copy_back_to_etcd_for_the_rest()
    {
        using (var local = new LocalHistory(_dir) { Cluster = "c1" })
        {
            local.Append("ops", Entries(0, 300), 40);
        }

        var path = Path.Combine(_dir, "ops.log");
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        using var reopened = new LocalHistory(_dir);
        var copy = reopened.Load("ops");
        Assert.That(copy.Entries, Has.Count.EqualTo(299), "one record lost, not the tail");
        Assert.That(copy.Damaged, Is.EqualTo(1));
        Assert.That(copy.Revision, Is.Zero, "the copy is no longer complete up to any revision: read it all again");
        Assert.That(copy.Cluster, Is.EqualTo("c1"));

        // The damage is gone from the file: the next load is clean (and complete once etcd's records are appended).
        reopened.Append("ops", Entries(300, 1), 50);
        var again = reopened.Load("ops");
        Assert.That(again.Damaged, Is.Zero);
        Assert.That(again.Entries, Has.Count.EqualTo(300));
        Assert.That(again.Revision, Is.EqualTo(50));
    }

    [Test]
    public void A_copy_loads_in_key_order_whatever_order_it_was_taken_in()
    {
        using var local = new LocalHistory(_dir);
        local.Append("ops", Entries(0, 5).Reverse().ToList(), 10);
        Assert.That(local.Load("ops").Entries.Select(e => e.Name), Is.EqualTo(Entries(0, 5).Select(e => e.Name)));
    }

    [Test]
    public void A_copy_that_cannot_be_written_stops_where_it_was_complete()
    {
        string? failure = null;
        using var local = new LocalHistory(_dir);
        local.WriteFailed += (group, reason) => failure = group + ": " + reason;
        local.Append("ops", Entries(0, 2), 10);
        local.Checkpoint();
        // The log cannot be opened any more (tests run as root, who may write anywhere: a directory in its place).
        local.Dispose();
        File.Delete(Path.Combine(_dir, "ops.log"));
        Directory.CreateDirectory(Path.Combine(_dir, "ops.log"));
        local.Append("ops", Entries(2, 2), 20);
        local.Append("ops", Entries(4, 2), 30);
        local.Checkpoint();
        Assert.That(Revision(), Is.EqualTo("10"));
        Assert.That(failure, Does.StartWith("ops: "));
    }

    [Test]
    public void Trimming_drops_exactly_the_entries_before_the_bound_and_keeps_the_copy_continuable()
    {
        using (var local = new LocalHistory(_dir))
        {
            local.Cluster = "c1";
            local.Append("ops", Entries(0, 10).Select(e => e with { Revision = 7 }).ToList(), 10);
            Assert.That(local.TrimBefore("ops", $"{4:D13}"), Is.EqualTo(4));
            Assert.That(local.TrimBefore("ops", $"{4:D13}"), Is.Zero, "trimming again drops nothing");
            local.Append("ops", Entries(10, 2), 20);
            var copy = local.Load("ops");
            Assert.That(copy.Entries.Select(e => e.Name), Is.EqualTo(Entries(4, 8).Select(e => e.Name)));
            Assert.That(copy.Revision, Is.EqualTo(20));
            Assert.That(copy.Witness, Is.EqualTo($"{9:D13}-peer@7"), "the witness was kept");

            // When the witness goes too, the revision stays, without a witness (etcd deleted it as well).
            local.TrimBefore("ops", $"{11:D13}");
        }

        Assert.That(Revision(), Is.EqualTo("20 c1"));
        using var reopened = new LocalHistory(_dir);
        var after = reopened.Load("ops");
        Assert.That(after.Entries.Select(e => e.Name), Is.EqualTo(new[] { $"{11:D13}-peer" }));
        Assert.That(after.Revision, Is.EqualTo(20));
        Assert.That(File.GetUnixFileMode(Path.Combine(_dir, "ops.log")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }
}
