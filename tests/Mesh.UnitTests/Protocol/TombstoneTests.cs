using Mesh.Coordinator.History;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Home;
using Mesh.Peer.Identity;
using Mesh.Peer.Protocol;
using Mesh.Peer.Session;
using Mesh.Testing;

namespace Mesh.UnitTests.Protocol;

[Category("Unit")]
public sealed class TombstoneTests
{
    private static readonly PeerIdentity Amy = Identities.New();
    private static readonly PeerIdentity Bo = Identities.New();
    private static readonly GroupKey Key = GroupKey.Create();
    private static readonly GroupLog Log = GroupLog.TryStart("ops", GroupCommits.Genesis("ops", LogEntry.Open, Amy, "amy", 1).Record, out _)!;

    private const long At = 1795534684900;

    private static Envelope Said(PeerIdentity who, long seq, string text, long epoch = 7) =>
        new("ops", who.PeerId, epoch, seq, who == Amy ? "amy" : "bo", At + seq, text, At + seq);

    /// <summary>One message stored alone: its key.</summary>
    private static HistoryEntry Stored(Envelope e, PeerIdentity by) => new("ops", e.HistoryName, EnvelopeCodec.Seal(e, Key, by));

    /// <summary>A burst sealed under one signature, stored as one key.</summary>
    private static HistoryEntry StoredBurst(PeerIdentity who, long firstSeq, params string[] texts)
    {
        var burst = texts.Select((t, i) => Said(who, firstSeq + i, t)).ToList();
        var payloads = EnvelopeCodec.SealBurst(burst, Key, who);
        return new HistoryEntry("ops", HistoryKey.Name([.. burst.Select(e => e.HistoryName)]), BurstFrame.Pack(payloads)[0]);
    }

    private static Envelope Open(byte[] value) =>
        EnvelopeCodec.TryOpen(value, _ => Key, out _, out _) ?? throw new AssertionException("did not open");

    private static string Delete(string target) => KindText.Encode(new KindRecord(MessageKind.Delete, target, ""));

    [Test]
    public void A_delete_under_its_targets_name_stands_for_the_message_deleted_and_nothing_else_does()
    {
        var target = Said(Bo, 1, "secret");
        var byBo = Said(Bo, 2, Delete(target.Id));
        var slot = Tombstone.TryOpen(target.HistoryName, Open(Stored(byBo, Bo).Value), Log);
        Assert.That(slot, Is.Not.Null);
        Assert.That((slot!.Id, slot.HistoryName, slot.Text), Is.EqualTo((target.Id, target.HistoryName, "")));
        Assert.That(slot.Deletion?.Id, Is.EqualTo(byBo.Id));
        Assert.That(Conversation.Interpret(Log, slot, "bo", false), Is.TypeOf<MessageEvent>().With.Property("Deleted").Not.Null.And.Property("Text").Empty);

        // The creator moderates; anyone else's delete, another message's delete, or a plain message is no tombstone.
        Assert.That(Tombstone.TryOpen(target.HistoryName, Open(Stored(Said(Amy, 1, Delete(target.Id)), Amy).Value), Log), Is.Not.Null);
        var amys = Said(Amy, 5, "amy's");
        Assert.That(Tombstone.TryOpen(amys.HistoryName, Open(Stored(Said(Bo, 3, Delete(amys.Id)), Bo).Value), Log), Is.Null, "bo may not delete amy's");
        Assert.That(Tombstone.TryOpen(Said(Bo, 9, "x").HistoryName, Open(Stored(byBo, Bo).Value), Log), Is.Null, "a delete of another message");
        Assert.That(Tombstone.TryOpen(target.HistoryName, Open(Stored(Said(Bo, 4, "just text"), Bo).Value), Log), Is.Null, "a replay");
    }

    [Test]
    public void Where_a_name_is_held_twice_the_tombstone_wins_in_expansion_and_in_a_merge()
    {
        var burst = StoredBurst(Bo, 1, "one", "two", "three");
        var two = HistoryKey.TryExpand(burst)![1];
        var delete = Stored(Said(Bo, 4, Delete(Open(two.Value).Id)), Bo);
        var tombstone = two with { Value = delete.Value };

        var expanded = HistoryKey.ExpandAll([tombstone, burst, delete], out var malformed);
        Assert.That(malformed, Is.Zero);
        Assert.That(expanded.Single(m => m.Name == two.Name).Value, Is.EqualTo(delete.Value));
        Assert.That(expanded.Select(m => m.Name).Distinct().Count(), Is.EqualTo(expanded.Count));

        Assert.That(HistoryCatchUp.Merge([two], [tombstone]).Single().Value, Is.EqualTo(delete.Value), "over the copy's text");
        Assert.That(HistoryCatchUp.Merge([tombstone], [two]).Single().Value, Is.EqualTo(delete.Value), "over etcd's text");
    }

    [Test]
    public void Erasing_a_message_of_a_burst_keeps_its_other_messages_as_keys_of_their_own()
    {
        var burst = StoredBurst(Bo, 1, "one", "two", "three");
        var parts = HistoryKey.TryExpand(burst)!;
        var targetId = Open(parts[1].Value).Id;
        var delete = Stored(Said(Bo, 4, Delete(targetId)), Bo);
        var keys = new List<HistoryEntry> { burst, delete };

        Assert.That(Tombstone.Erase(keys, targetId, Open(delete.Value).Id), Is.True);
        Assert.That(keys.Select(k => k.Name), Is.EqualTo(new[] { parts[0].Name, parts[1].Name, parts[2].Name, delete.Name }));
        Assert.That(keys[1].Value, Is.EqualTo(delete.Value), "the tombstone in the target's place");
        Assert.That(Open(keys[0].Value).Text, Is.EqualTo("one"));
        Assert.That(Open(keys[2].Value).Text, Is.EqualTo("three"));
        Assert.That(Tombstone.Erase(keys, targetId, Open(delete.Value).Id), Is.False, "once is enough");
        Assert.That(Tombstone.Erase([parts[0]], targetId, Open(delete.Value).Id), Is.False, "no delete held: nothing to put there");
    }

    [Test]
    public async Task In_etcd_a_single_key_and_a_burst_are_replaced_and_a_delete_not_stored_yet_is_waited_for()
    {
        var store = new InMemoryHistoryStore();
        var single = Stored(Said(Amy, 1, "alone"), Amy);
        var burst = StoredBurst(Bo, 1, "one", "two", "three");
        var parts = HistoryKey.TryExpand(burst)!;
        var twoId = Open(parts[1].Value).Id;
        var deleteTwo = Stored(Said(Bo, 4, Delete(twoId)), Bo);
        var singleId = Open(single.Value).Id;
        var deleteSingle = Stored(Said(Amy, 2, Delete(singleId)), Amy);
        await store.AppendAsync([single, burst], CancellationToken.None);

        Assert.That(await TombstoneWriter.TryEraseAsync(store, "ops", twoId, Open(deleteTwo.Value).Id, CancellationToken.None),
            Is.EqualTo(TombstoneWriter.Outcome.DeleteNotStored));
        await store.AppendAsync([deleteTwo, deleteSingle], CancellationToken.None);
        Assert.That(await TombstoneWriter.TryEraseAsync(store, "ops", twoId, Open(deleteTwo.Value).Id, CancellationToken.None), Is.EqualTo(TombstoneWriter.Outcome.Done));
        Assert.That(await TombstoneWriter.TryEraseAsync(store, "ops", singleId, Open(deleteSingle.Value).Id, CancellationToken.None), Is.EqualTo(TombstoneWriter.Outcome.Done));

        var held = new List<HistoryEntry>();
        await store.ReadAsync("ops", page => { held.AddRange(page); return ValueTask.CompletedTask; }, CancellationToken.None);
        Assert.That(held.Select(k => k.Name).Order(StringComparer.Ordinal),
            Is.EqualTo(new[] { single.Name, parts[0].Name, parts[1].Name, parts[2].Name, deleteTwo.Name, deleteSingle.Name }.Order(StringComparer.Ordinal)),
            "the burst taken apart, nothing lost");
        Assert.That(held.Single(k => k.Name == parts[1].Name).Value, Is.EqualTo(deleteTwo.Value));
        Assert.That(held.Single(k => k.Name == single.Name).Value, Is.EqualTo(deleteSingle.Value));
        Assert.That(held.Where(k => k.Value.AsSpan().SequenceEqual(parts[1].Value) || k.Value.AsSpan().SequenceEqual(single.Value)), Is.Empty, "no text left");
        Assert.That(Erasures.TargetsHeld(held, [twoId, singleId]), Is.Empty, "tombstones only");
        Assert.That(Erasures.TargetsHeld([burst, single], [twoId, singleId]), Is.EquivalentTo(new[] { twoId, singleId }));
    }

    [Test]
    public void The_local_copy_is_rewritten_without_the_text()
    {
        var directory = Directory.CreateTempSubdirectory("mesh-erase-").FullName;
        try
        {
            using var local = new LocalHistory(directory);
            var burst = StoredBurst(Bo, 1, "one", "two", "three");
            var parts = HistoryKey.TryExpand(burst)!;
            var twoId = Open(parts[1].Value).Id;
            var delete = Stored(Said(Bo, 4, Delete(twoId)), Bo);
            local.Append("ops", [delete with { Revision = 8 }, burst with { Revision = 9 }], 10);
            local.Checkpoint();
            Assert.That(local.Load("ops").Witness, Does.StartWith(burst.Name), "the burst witnesses the copy");

            Assert.That(local.Erase("ops", [(twoId, Open(delete.Value).Id)]), Is.EqualTo(1));
            var file = File.ReadAllBytes(Path.Combine(directory, "ops.log"));
            Assert.That(file.AsSpan().IndexOf(EnvelopeCodec.TryParse(parts[1].Value)!.Ciphertext), Is.EqualTo(-1), "the sealed text is gone from the file");
            var copy = local.Load("ops");
            Assert.That(copy.Revision, Is.EqualTo(10), "still complete up to its revision");
            Assert.That(copy.Witness, Is.Empty, "the witness was taken apart: etcd will not hold it as it was");
            Assert.That(copy.Entries.Select(e => e.Name), Is.EqualTo(new[] { parts[0].Name, parts[1].Name, parts[2].Name, delete.Name }));
            Assert.That(local.Erase("ops", [(twoId, Open(delete.Value).Id)]), Is.Zero);
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }
}
