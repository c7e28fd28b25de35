using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Identity;
using Mesh.UnitTests.Protocol;

namespace Mesh.UnitTests.Groups;

[Category("Unit")]
public sealed class LogFollowerTests
{
    private const long Now = 1_000_000;
    private PeerIdentity _creator = null!;
    private GroupLog _log = null!;
    private Dictionary<long, GroupKey> _keys = null!;

    [SetUp]
    public void Start()
    {
        _creator = Identities.New();
        var genesis = GroupCommits.Genesis("g", LogEntry.Open, _creator, "amy", Now);
        _log = GroupLog.TryStart("g", genesis.Record, out _)!;
        _keys = new Dictionary<long, GroupKey> { [1] = genesis.NewKey! };
    }

    [TearDown]
    public void Stop() => _creator.Dispose();

    private byte[] AddRecord(GroupLog log, string name, long atMs = Now)
    {
        using var newcomer = Identities.New();
        return GroupCommits.Add(log, _creator, Joiners.Of(newcomer, name, log), _keys, atMs).Record;
    }

    private static KeyChange At(long index, byte[] value, long revision = 7) => new(MeshKeys.LogEntry("g", index), false, value, revision, 0);

    private static KeyChange Deleted(long index) => new(MeshKeys.LogEntry("g", index), true, [], 0, 0);

    [Test]
    public void Junk_at_the_next_index_is_remembered_with_its_revision_until_it_is_deleted_or_rewritten()
    {
        var follower = new LogFollower(_log);
        var step = follower.Observe([At(1, "junk"u8.ToArray(), 40)], defend: true, Now);
        Assert.That(step.Errors.Single(), Does.Contain("entry 1 of the group log rejected"));
        Assert.That(follower.NextSlotRevision, Is.EqualTo(40));

        follower.Observe([Deleted(1)], defend: true, Now);
        Assert.That(follower.NextSlotRevision, Is.EqualTo(0), "a deleted junk record frees the index: no stale revision stays");

        var again = follower.Observe([At(1, "junk 2"u8.ToArray(), 45)], defend: true, Now);
        Assert.That(follower.NextSlotRevision, Is.EqualTo(45));
        Assert.That(again.Errors, Is.Empty, "one error per index, not one per rewrite");
    }

    [Test]
    public void A_valid_entry_replacing_junk_is_applied_and_entries_ahead_wait_for_the_gap()
    {
        var follower = new LogFollower(_log);
        var shadow = GroupLog.TryStart("g", _log.RecordAt(0), out _)!;
        var first = AddRecord(shadow, "bo");
        Assert.That(shadow.TryApply(first, out _), Is.True);
        var second = AddRecord(shadow, "cy");

        follower.Observe([At(2, second, 50)], defend: true, Now);
        Assert.That(_log.Head, Is.EqualTo(0), "entry 2 waits for entry 1");
        follower.Observe([At(1, "junk"u8.ToArray(), 51)], defend: true, Now);
        var step = follower.Observe([At(1, first, 52)], defend: true, Now);

        Assert.That(step.Applied.Select(e => e.Index), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(_log.Head, Is.EqualTo(2));
        Assert.That(follower.NextSlotRevision, Is.EqualTo(0));
    }

    [Test]
    public void An_applied_entry_deleted_or_rewritten_is_reported_once_and_put_back_by_members_only()
    {
        var follower = new LogFollower(_log);
        var first = AddRecord(_log, "bo");
        follower.Observe([At(1, first)], defend: true, Now);

        var member = follower.Observe([Deleted(1), At(1, "junk"u8.ToArray())], defend: true, Now);
        Assert.That(member.Repairs, Is.EqualTo(new long[] { 1, 1 }));
        Assert.That(member.Errors, Has.Count.EqualTo(1));
        Assert.That(follower.Observe([At(1, "junk"u8.ToArray())], defend: false, Now).Repairs, Is.Empty, "a peer waiting for admission does not fight over it");
    }

    [Test]
    public void An_entry_stamped_far_ahead_is_told_and_applied_alike_by_every_clock()
    {
        // Refusing it by one's own clock would split members whose clocks differ; nothing rests on its time.
        var yearAhead = AddRecord(_log, "mallory", Now + (long)TimeSpan.FromDays(365).TotalMilliseconds);
        var onTime = new LogFollower(GroupLog.TryStart("g", _log.RecordAt(0), out _)!);
        var behind = new LogFollower(GroupLog.TryStart("g", _log.RecordAt(0), out _)!);

        var step = onTime.Observe([At(1, yearAhead, 60)], defend: true, Now);
        Assert.That(step.Applied, Has.Count.EqualTo(1));
        Assert.That(step.Errors.Single(), Does.Contain("stamped 365 days ahead of this peer's clock"));
        Assert.That(behind.Observe([At(1, yearAhead, 60)], defend: true, Now - (long)TimeSpan.FromDays(10).TotalMilliseconds).Applied, Has.Count.EqualTo(1));
        Assert.That(onTime.Log.HeadHash, Is.EqualTo(behind.Log.HeadHash));
    }

    [Test]
    public void An_entry_stamped_before_its_predecessor_is_refused()
    {
        var follower = new LogFollower(_log);
        follower.Observe([At(1, AddRecord(_log, "bo", Now + 5_000))], defend: true, Now + 5_000);
        var earlier = GroupLog.TryStart("g", _log.RecordAt(0), out _)!;
        Assert.That(earlier.TryApply(_log.RecordAt(1), out _), Is.True);
        var entry = LogEntry.TryParse(AddRecord(earlier, "cy", Now + 5_000), out _)! with { AtMs = Now };

        var step = follower.Observe([At(2, entry.Sign(_creator))], defend: true, Now + 5_000);
        Assert.That(step.Errors.Single(), Does.Contain("stamped before the entry it follows"));
    }

    [Test]
    public void Keys_outside_the_log_are_not_indexes()
    {
        Assert.That(LogFollower.IndexOf("g", MeshKeys.Group("g")), Is.EqualTo(0));
        Assert.That(LogFollower.IndexOf("g", MeshKeys.LogEntry("g", 12)), Is.EqualTo(12));
        Assert.That(LogFollower.IndexOf("g", MeshKeys.LogPrefix("g") + "x1"), Is.Null);
        Assert.That(LogFollower.IndexOf("g", MeshKeys.LogPrefix("g") + "-1"), Is.Null);
        Assert.That(LogFollower.IndexOf("g", MeshKeys.LogPrefix("g") + "0"), Is.Null, "index 0 is the genesis, at its own key");
        Assert.That(LogFollower.IndexOf("g", MeshKeys.LogEntry("h", 1)), Is.Null);
    }

    [Test]
    public void Two_valid_entries_for_one_index_end_on_the_lower_hash_at_every_member_and_name_the_equivocator()
    {
        var mallory = Identities.New();
        var add = GroupCommits.Add(_log, _creator, Joiners.Of(mallory, "mallory", _log), _keys, Now);
        Assert.That(_log.TryApply(add.Record, out _), Is.True);
        var x = GroupCommits.Rotate(_log, mallory, null, Now + 1).Record;
        var y = GroupCommits.Rotate(_log, mallory, null, Now + 2).Record;
        var (low, high) = string.CompareOrdinal(LogEntry.TryParse(x, out _)!.Hash, LogEntry.TryParse(y, out _)!.Hash) < 0 ? (x, y) : (y, x);

        // One member applied the higher, the other the lower; each then sees the other's in etcd.
        var onHigh = new LogFollower(GroupLog.TryStart("g", _log.RecordAt(0), out _)!);
        var onLow = new LogFollower(GroupLog.TryStart("g", _log.RecordAt(0), out _)!);
        foreach (var f in new[] { onHigh, onLow })
        {
            f.Observe([At(1, _log.RecordAt(1))], defend: true, Now);
        }

        onHigh.Observe([At(2, high)], defend: true, Now);
        onLow.Observe([At(2, low)], defend: true, Now);

        var switched = onHigh.Observe([At(2, low)], defend: true, Now);
        Assert.That(switched.SwitchedAt, Is.EqualTo(2));
        Assert.That(switched.Errors.Single(), Does.Contain("mallory signed two different entries for index 2").And.Contain("switches"));
        var kept = onLow.Observe([At(2, high)], defend: true, Now);
        Assert.That(kept.SwitchedAt, Is.Null);
        Assert.That(kept.Repairs, Is.EqualTo(new long[] { 2 }), "the lower one is put back in etcd");
        Assert.That(kept.Errors.Single(), Does.Contain("which this peer holds"));
        Assert.That(onHigh.Log.HeadHash, Is.EqualTo(onLow.Log.HeadHash), "both follow one log");
        Assert.That(onHigh.Log.CurrentEpoch.KeyCheck, Is.EqualTo(onLow.Log.CurrentEpoch.KeyCheck));
        mallory.Dispose();
    }

    [Test]
    public void An_entry_that_does_not_follow_the_same_predecessor_is_no_rival_only_a_rewrite()
    {
        var follower = new LogFollower(_log);
        var first = AddRecord(_log, "bo");
        follower.Observe([At(1, first)], defend: true, Now);
        var other = GroupLog.TryStart("g", _log.RecordAt(0), out _)!;
        var replay = LogEntry.TryParse(AddRecord(other, "cy"), out _)! with { Previous = new string('0', 64) };

        var step = follower.Observe([At(1, replay.Sign(_creator))], defend: true, Now);
        Assert.That(step.SwitchedAt, Is.Null);
        Assert.That(step.Errors.Single(), Does.Contain("rewritten"));
    }
}
