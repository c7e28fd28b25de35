using Mesh.Coordinator.History;
using Mesh.Peer.Crypto;
using Mesh.Peer.Identity;
using Mesh.Peer.Protocol;

namespace Mesh.UnitTests.Protocol;

[Category("Unit")]
public sealed class HistoryKeyTests
{
    private static readonly PeerIdentity Sender = Identities.New();
    private static readonly PeerIdentity Other = Identities.New();
    private static readonly GroupKey Key = GroupKey.Create();

    private static List<Envelope> Burst(int count, long firstSeq = 1, PeerIdentity? sender = null, long at = 1795534684900) =>
        [.. Enumerable.Range(0, count).Select(i => new Envelope("ops", (sender ?? Sender).PeerId, 7, firstSeq + i, "amy", at + i, $"message {i}", at + i))];

    /// <summary>A burst sealed under one signature, as one key: its name and its frame.</summary>
    private static (HistoryEntry Key, List<HistoryEntry> Messages) Sealed(int count, long firstSeq = 1, PeerIdentity? sender = null, long at = 1795534684900)
    {
        var burst = Burst(count, firstSeq, sender, at);
        var payloads = EnvelopeCodec.SealBurst(burst, Key, sender ?? Sender);
        var messages = burst.Select((e, i) => new HistoryEntry("ops", e.HistoryName, payloads[i])).ToList();
        var frames = BurstFrame.Pack(payloads);
        Assert.That(frames, Has.Count.EqualTo(1));
        return (new HistoryEntry("ops", HistoryKey.Name([.. messages.Select(m => m.Name)]), frames[0]), messages);
    }

    [Test]
    public void A_burst_key_is_named_for_its_last_message_and_its_count_and_opens_into_its_messages()
    {
        var (key, messages) = Sealed(5, firstSeq: 11);
        Assert.That(key.Name, Is.EqualTo(messages[^1].Name + "~005"));
        Assert.That(HistoryKey.TryParse(key.Name, out var peer, out var epoch, out var first, out var last), Is.True);
        Assert.That((peer, epoch, first, last), Is.EqualTo((Sender.PeerId, 7L, 11L, 15L)));

        var expanded = HistoryKey.TryExpand(key)!;
        Assert.That(expanded.Select(m => m.Name), Is.EqualTo(messages.Select(m => m.Name)));
        Assert.That(expanded.Select(m => m.Value), Is.EqualTo(messages.Select(m => m.Value)));

        var verified = new VerifiedBursts();
        Assert.That(expanded.Select(m => EnvelopeCodec.TryOpen(m.Value, g => g == "ops" ? Key : null, out _, out _, verified)?.Text),
            Is.EqualTo(Enumerable.Range(0, 5).Select(i => $"message {i}")));
    }

    [Test]
    public void A_one_message_key_keeps_its_name_and_is_handed_over_as_it_is()
    {
        var (_, messages) = Sealed(1);
        Assert.That(HistoryKey.Name([messages[0].Name]), Is.EqualTo(messages[0].Name));
        Assert.That(HistoryKey.TryParse(messages[0].Name, out _, out _, out var first, out var last), Is.True);
        Assert.That(first, Is.EqualTo(last));
        Assert.That(HistoryKey.TryExpand(messages[0]), Is.EqualTo(new[] { messages[0] }));
    }

    [Test]
    public void A_key_sorts_at_or_after_a_bound_exactly_when_its_last_message_does()
    {
        var (key, messages) = Sealed(4);
        foreach (var bound in messages.Select(m => m.Name).Append(messages[0].Name[..13]))
        {
            Assert.That(string.CompareOrdinal(key.Name, bound) >= 0, Is.True, bound);
        }

        var after = Sealed(1, firstSeq: 9, at: 1795534684900 + 4).Messages[0].Name;
        Assert.That(string.CompareOrdinal(key.Name, after), Is.LessThan(0), "a later message sorts after the whole burst");
    }

    [Test]
    public void Names_that_claim_what_no_peer_writes_are_refused_before_any_value_is_read()
    {
        var name = Sealed(3).Key.Name;
        var stem = name[..name.IndexOf('~')];
        foreach (var bad in new[] { stem + "~001", stem + "~000", stem + "~257", stem + "~9999999999", stem + "~", stem + "~-02", stem + "~ab3", "junk~002" })
        {
            Assert.That(HistoryKey.TryParse(bad, out _, out _, out _, out _), Is.False, bad);
        }

        // A count reaching below the first number.
        var early = Sealed(1).Messages[0].Name;
        Assert.That(HistoryKey.TryParse(early + "~002", out _, out _, out _, out _), Is.False);
    }

    [Test]
    public void A_key_whose_name_and_contents_disagree_costs_that_key()
    {
        var (key, messages) = Sealed(4, firstSeq: 3);
        var stem = key.Name[..key.Name.IndexOf('~')];
        var (otherKey, _) = Sealed(4, firstSeq: 3, sender: Other);
        var cases = new Dictionary<string, HistoryEntry>
        {
            ["count says 3, holds 4"] = key with { Name = stem + "~003" },
            ["named for a message it does not end with"] = key with { Name = messages[^2].Name + "~004" },
            ["another group's prefix"] = key with { Group = "dev" },
            ["another sender's burst under this sender's name"] = otherKey with { Name = key.Name },
            ["parts of two bursts (two signatures)"] = new HistoryEntry("ops", key.Name,
                BurstFrame.Pack([.. messages.Take(2).Select(m => m.Value), .. Sealed(2, firstSeq: 5).Messages.Select(m => m.Value)])[0]),
            ["numbers not consecutive"] = new HistoryEntry("ops", HistoryKey.Name([messages[0].Name, messages[2].Name]),
                BurstFrame.Pack([messages[0].Value, messages[2].Value])[0]),
            ["not a frame"] = key with { Value = messages[^1].Value },
            ["a frame under a one-message name"] = key with { Name = messages[^1].Name },
            ["junk bytes"] = key with { Value = [0x01, (byte)'m', 0, 0, 0, 9, 1, 2] },
        };
        foreach (var (what, bad) in cases)
        {
            Assert.That(HistoryKey.TryExpand(bad), Is.Null, what);
        }

        var all = HistoryKey.ExpandAll([.. cases.Values, key], out var malformed);
        Assert.That(malformed, Is.EqualTo(cases.Count));
        Assert.That(all.Select(m => m.Name), Is.EqualTo(messages.Select(m => m.Name)), "the good key still opens");
    }

    [Test]
    public void Expanding_keys_gives_every_message_once_in_name_order_whatever_order_the_keys_sort_in()
    {
        // Amy's burst spans 1..4 ms; Bo spoke at 2 ms, after her first message and before her last: keys sort Bo first.
        var (amy, amyMessages) = Sealed(4, firstSeq: 1);
        var bo = Sealed(1, firstSeq: 1, sender: Other, at: 1795534684900 + 1).Messages[0];
        var keys = new[] { amy, bo }.OrderBy(k => k.Name, StringComparer.Ordinal).ToList();
        Assert.That(keys[0], Is.SameAs(bo));

        // One of Amy's messages also stored alone (put back by a member): still once.
        var all = HistoryKey.ExpandAll([.. keys, amyMessages[1]], out var malformed);
        Assert.That(malformed, Is.Zero);
        Assert.That(all.Select(m => m.Name), Is.EqualTo(amyMessages.Append(bo).Select(m => m.Name).Order(StringComparer.Ordinal)));
    }

    [Test]
    public void Batches_for_etcd_stay_within_its_count_and_byte_limits()
    {
        var entries = Enumerable.Range(0, 300).Select(i => new HistoryEntry("ops", $"{i:D5}", new byte[i % 3 == 0 ? 120_000 : 100])).ToList();
        var batches = HistoryBatches.Of(entries).ToList();
        Assert.That(batches.SelectMany(b => b), Is.EqualTo(entries), "every entry once, in order");
        Assert.That(batches, Has.All.Matches<IReadOnlyList<HistoryEntry>>(b => b.Count <= EtcdHistoryStore.MaxOpsPerTransaction
            && b.Sum(e => e.Name.Length + e.Value.Length) <= EtcdHistoryStore.MaxBytesPerTransaction));
        var huge = new HistoryEntry("ops", "big", new byte[2 * EtcdHistoryStore.MaxBytesPerTransaction]);
        Assert.That(HistoryBatches.Of([huge, entries[1]]).Select(b => b.Count), Is.EqualTo(new[] { 1, 1 }), "one too large for the limit goes alone");
    }
}
