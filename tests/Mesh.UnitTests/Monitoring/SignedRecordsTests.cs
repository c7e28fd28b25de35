using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Membership;
using Mesh.Monitoring.Watcher;
using Mesh.Peer.Groups;
using Mesh.Peer.Identity;
using Mesh.UnitTests.Protocol;

namespace Mesh.UnitTests.Monitoring;

/// <summary>The monitor counts a peer as online, and a member as a member, only on a record signed by that peer (the
/// peers' own check); any other record at a peer's key is listed as unsigned and counted nowhere.</summary>
[Category("Unit")]
public sealed class SignedRecordsTests
{
    private readonly PeerIdentity _amy = Identities.New();
    private readonly PeerIdentity _bob = Identities.New();
    private readonly PeerIdentity _cy = Identities.New();
    private readonly PeerIdentity _dan = Identities.New();

    private static KeyChange Put(string key, byte[] value) => new(key, false, value, 1, 7);

    private static MemberRecord RecordOf(PeerIdentity peer, string name, string group = "") =>
        new(peer.PeerId, name, peer.PublicKeyZ85, Convert.ToBase64String(peer.SigningPublicKey), "tcp://127.0.0.1:1", 1) { Group = group };

    private static KeyChange Presence(PeerIdentity peer, string name) =>
        Put(MeshKeys.Peer(peer.PeerId), MemberSignature.Sign(RecordOf(peer, name), peer).ToBytes());

    private static KeyChange Membership(PeerIdentity peer, string group) =>
        Put(MeshKeys.Member(group, peer.PeerId), MemberSignature.Sign(RecordOf(peer, peer.PeerId[..4], group), peer).ToBytes());

    private static MeshView NewView() => new(MemberSignature.IsValid);

    [Test]
    public void Records_not_signed_by_the_peer_whose_key_they_are_under_are_unsigned_and_not_counted_online()
    {
        var view = NewView();
        var forgedName = MemberSignature.Sign(RecordOf(_bob, "bob"), _bob) with { Name = "bob the admin" };
        view.Load([
            Presence(_amy, "amy"),
            Put(MeshKeys.Peer(_bob.PeerId), forgedName.ToBytes()),
            Put(MeshKeys.Peer(_cy.PeerId), RecordOf(_cy, "cy").ToBytes()),
            Put(MeshKeys.Peer("copy"), MemberSignature.Sign(RecordOf(_amy, "amy"), _amy).ToBytes()),
            Put(MeshKeys.Peer(_dan.PeerId), MemberSignature.Sign(RecordOf(_dan, "dan", "ops"), _dan).ToBytes()),
        ]);

        var snapshot = view.Snapshot();
        Assert.That(snapshot.Peers.Select(p => (p.Name, p.State)), Is.EqualTo(new[]
        {
            ("amy", PeerVerdict.Healthy), ("amy", PeerVerdict.Unsigned), ("bob the admin", PeerVerdict.Unsigned), ("cy", PeerVerdict.Unsigned), ("dan", PeerVerdict.Unsigned),
        }), "online first; the others listed after, as unsigned");
        Assert.That(snapshot.Peers.Single(p => p.Name == "bob the admin").Cause, Does.Contain("signature does not check out"));
        Assert.That(snapshot.Peers.Single(p => p.Name == "cy").Cause, Does.Contain("no signature"));
        Assert.That(snapshot.Peers.Single(p => p.Id == "copy").Cause, Does.Contain("names another peer"));
        Assert.That(snapshot.Peers.Single(p => p.Name == "dan").Cause, Does.Contain("a record for group 'ops'"));
        Assert.That(view.Counts().Peers, Is.EqualTo(1), "the gauge counts amy alone");
        Assert.That(view.Counts().Unsigned, Is.EqualTo(4));
    }

    [Test]
    public void An_unsigned_record_gets_no_say_in_the_verdict_on_others_and_lends_no_name()
    {
        var view = NewView();
        view.Load([
            Presence(_amy, "amy"), Presence(_bob, "bob"),
            Put(MeshKeys.Peer(_cy.PeerId), RecordOf(_cy, "amy").ToBytes()),
            Put(MeshKeys.Links(_amy.PeerId), new LinkStates([_bob.PeerId], [_cy.PeerId]).ToBytes()),
            Put(MeshKeys.Links(_bob.PeerId), new LinkStates([_amy.PeerId], []).ToBytes()),
            Put(MeshKeys.Links(_cy.PeerId), new LinkStates([], [_amy.PeerId, _bob.PeerId]).ToBytes()),
        ]);

        var snapshot = view.Snapshot();
        Assert.That(snapshot.Peers.Where(p => p.State != PeerVerdict.Unsigned).Select(p => (p.Name, p.State)),
            Is.EqualTo(new[] { ("amy", PeerVerdict.Healthy), ("bob", PeerVerdict.Healthy) }), "the unsigned report of both down counts for nothing");
        Assert.That(snapshot.Peers.First(p => p.Name == "amy").Links.Single(l => l.State == "down").Name, Is.EqualTo(_cy.PeerId[..8]),
            "the unsigned record's claimed name is not used for its id");
        Assert.That(snapshot.LinksDown, Is.EqualTo(1), "amy's report; the unsigned one's two downs are not counted");
        Assert.That(view.Counts().LinksDown, Is.EqualTo(1));
    }

    [Test]
    public void A_member_counts_only_on_its_own_record_signed_for_that_group()
    {
        var view = NewView();
        view.Load([
            Presence(_amy, "amy"), Presence(_bob, "bob"), Presence(_cy, "cy"),
            Membership(_amy, "ops"),
            Put(MeshKeys.Member("ops", _bob.PeerId), MemberSignature.Sign(RecordOf(_bob, "bob", "dev"), _bob).ToBytes()),
            Put(MeshKeys.Member("ops", _cy.PeerId), RecordOf(_cy, "cy", "ops").ToBytes()),
            Put(MeshKeys.Member("ops", "nobody"), []),
        ]);

        var ops = view.Snapshot().Groups.Single(g => g.Name == "ops");
        Assert.That(ops.Members, Is.EqualTo(new[] { "amy" }), "bob's record is for another group, cy's is not signed, nobody's is empty");
        Assert.That(view.Counts().Members, Is.EqualTo(1));

        view.Apply([Put(MeshKeys.Member("ops", _amy.PeerId), RecordOf(_amy, "amy", "ops").ToBytes())]);
        Assert.That(view.Snapshot().Groups.Where(g => g.Name == "ops").SelectMany(g => g.Members), Is.Empty, "an unsigned record put over a signed one ends that membership");
        Assert.That(view.Counts().Members, Is.Zero);
    }

    [Test]
    public void A_signed_record_replaced_by_an_unsigned_one_is_said_and_its_deletion_is_no_lease_expiry()
    {
        var view = NewView();
        view.Load([Presence(_amy, "amy"), Presence(_bob, "bob")]);
        view.Apply([Put(MeshKeys.Peer(_bob.PeerId), RecordOf(_bob, "bob").ToBytes())]);
        var bob = view.Snapshot().Peers.Single(p => p.Name == "bob");
        Assert.That(bob.State, Is.EqualTo(PeerVerdict.Unsigned));
        Assert.That(view.Snapshot().Events.Select(e => (e.Kind, e.Text)).First(),
            Is.EqualTo((MeshEventKinds.PeerUnsigned, $"a peer record for bob ({_bob.PeerId[..8]}) is not validly signed: it carries no signature; not counted online")));

        view.Apply([new KeyChange(MeshKeys.Peer(_bob.PeerId), true, [], 2, 0)]);
        var snapshot = view.Snapshot();
        Assert.That(snapshot.Peers.Select(p => p.Name), Is.EqualTo(new[] { "amy" }));
        Assert.That(snapshot.LeaseExpiries, Is.Zero, "a record the peer never signed going away says nothing of the peer");

        view.Apply([Presence(_bob, "bob")]);
        Assert.That(view.Snapshot().Peers.Single(p => p.Name == "bob").State, Is.EqualTo(PeerVerdict.Healthy));
        Assert.That(view.Snapshot().Events[0].Kind, Is.EqualTo(MeshEventKinds.PeerOnline));
    }
}
