using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Identity;
using Mesh.UnitTests.Protocol;

namespace Mesh.UnitTests.Groups;

[Category("Unit")]
public sealed class GroupLogSyncTests
{
    private static (GroupLog Log, List<(long, byte[])> Entries, PeerIdentity Creator) Build(int adds)
    {
        var creator = Identities.New();
        var genesis = GroupCommits.Genesis("g", LogEntry.Open, creator, "amy", 1);
        var log = GroupLog.TryStart("g", genesis.Record, out _)!;
        var keys = new Dictionary<long, GroupKey> { [1] = genesis.NewKey! };
        var entries = new List<(long, byte[])>();
        for (var i = 0; i < adds; i++)
        {
            using var newcomer = Identities.New();
            var add = GroupCommits.Add(log, creator, Joiners.Of(newcomer, $"m{i}", log), keys, 10 + i);
            Assert.That(log.TryApply(add.Record, out _), Is.True);
            entries.Add((add.Index, add.Record));
        }

        return (log, entries, creator);
    }

    [Test]
    public void Without_a_copy_etcds_log_is_checked_entry_by_entry()
    {
        var (full, entries, creator) = Build(3);
        var result = GroupLogSync.Merge("g", null, full.RecordAt(0), entries);
        Assert.That(result.Log!.Head, Is.EqualTo(3));
        Assert.That(result.Errors, Is.Empty);

        entries[1] = (2, entries[0].Item2);
        result = GroupLogSync.Merge("g", null, full.RecordAt(0), entries);
        Assert.That(result.Log!.Head, Is.EqualTo(1), "stops at the replayed entry");
        Assert.That(result.Errors.Single(), Does.Contain("entry 2"));
        creator.Dispose();
    }

    [Test]
    public void A_copy_outranks_a_rewritten_or_rolled_back_etcd_and_names_what_to_put_back()
    {
        var (full, entries, creator) = Build(3);
        var copy = GroupLog.TryStart("g", full.RecordAt(0), out _)!;
        foreach (var (_, value) in entries)
        {
            copy.TryApply(value, out _);
        }

        var rolledBack = GroupLogSync.Merge("g", copy, full.RecordAt(0), entries.Take(1).ToList());
        Assert.That(rolledBack.Log!.Head, Is.EqualTo(3));
        Assert.That(rolledBack.Repairs, Is.EqualTo(new long[] { 2, 3 }));

        using var impostor = Identities.New();
        var fake = GroupCommits.Genesis("g", LogEntry.Open, impostor, "amy", 1).Record;
        var rewritten = GroupLogSync.Merge("g", copy, fake, entries);
        Assert.That(rewritten.Log!.GenesisHash, Is.EqualTo(full.GenesisHash));
        Assert.That(rewritten.Repairs, Does.Contain(0L));
        Assert.That(rewritten.Errors.Single(), Does.Contain("rewritten"));

        var emptied = GroupLogSync.Merge("g", copy, null, []);
        Assert.That(emptied.Repairs, Is.EqualTo(new long[] { 0, 1, 2, 3 }));
        creator.Dispose();
    }
}
