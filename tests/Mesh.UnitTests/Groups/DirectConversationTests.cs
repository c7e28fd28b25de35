using Mesh.Coordinator;
using Mesh.Peer.Configuration;
using Mesh.Peer.Groups;
using Mesh.Peer.Identity;
using Mesh.UnitTests.Protocol;

namespace Mesh.UnitTests.Groups;

/// <summary>Direct conversations' rules: the name both sides compute, a genesis that admits exactly two, the notice a
/// partner acts on, and who <c>/msg NAME</c> means.</summary>
[Category("Unit")]
public sealed class DirectConversationTests
{
    private PeerIdentity _amy = null!;
    private PeerIdentity _bo = null!;
    private PeerIdentity _cy = null!;

    [SetUp]
    public void Identities_()
    {
        _amy = Identities.New();
        _bo = Identities.New();
        _cy = Identities.New();
    }

    [TearDown]
    public void Dispose()
    {
        foreach (var i in new[] { _amy, _bo, _cy })
        {
            i.Dispose();
        }
    }

    private static LogMember MemberOf(PeerIdentity peer, string name) => new(peer.PeerId, peer.SigningPublicKey, peer.PublicKeyZ85, name, Admin: false);

    /// <summary>An open group of amy (creator), bo and cy, as its signed log has them.</summary>
    private GroupLog Shared(string group = "team")
    {
        var genesis = GroupCommits.Genesis(group, LogEntry.Open, _amy, "amy", 1000);
        var log = GroupLog.TryStart(group, genesis.Record, out var error) ?? throw new AssertionException(error);
        var keys = new Dictionary<long, Peer.Crypto.GroupKey> { [1] = genesis.NewKey! };
        foreach (var (peer, name) in new[] { (_bo, "bo"), (_cy, "cy") })
        {
            Assert.That(log.TryApply(GroupCommits.Add(log, _amy, Joiners.Of(peer, name, log), keys, 1000).Record, out error), Is.True, error);
        }

        return log;
    }

    [Test]
    public void The_name_is_the_same_for_both_sides_valid_and_of_that_pair_alone()
    {
        var name = DirectName.Of(_amy.PeerId, _bo.PeerId);
        Assert.That(DirectName.Of(_bo.PeerId, _amy.PeerId), Is.EqualTo(name));
        Assert.That(Naming.IsValidGroup(name), Is.True, name);
        Assert.That(name, Does.StartWith(DirectName.Prefix));
        Assert.That(DirectName.Of(_amy.PeerId, _cy.PeerId), Is.Not.EqualTo(name));
        Assert.That(DirectName.Of(_bo.PeerId, _cy.PeerId), Is.Not.EqualTo(name));
        Assert.Throws<ArgumentException>(() => DirectName.Of(_amy.PeerId, _amy.PeerId));
    }

    [Test]
    public void A_direct_genesis_makes_both_members_and_grants_the_key_to_the_partner_alone()
    {
        var commit = GroupCommits.Direct(_amy, "amy", MemberOf(_bo, "bo"), 1000);
        var group = DirectName.Of(_amy.PeerId, _bo.PeerId);
        var log = GroupLog.TryStart(group, commit.Record, out var error) ?? throw new AssertionException(error);
        Assert.That(log.IsDirect, Is.True);
        Assert.That(log.Members.Keys, Is.EquivalentTo(new[] { _amy.PeerId, _bo.PeerId }));
        Assert.That(log.PartnerOf(_amy.PeerId)!.PeerId, Is.EqualTo(_bo.PeerId));
        Assert.That(log.PartnerOf(_bo.PeerId)!.PeerId, Is.EqualTo(_amy.PeerId));
        Assert.That(log.PartnerOf(_cy.PeerId), Is.Null);
        Assert.That(log.MayModerateAt(_amy.PeerId, 0) || Peer.Session.Conversation.MayModerate(log, _amy.PeerId), Is.False,
            "no one moderates a conversation of two: the one who opened it deletes only its own messages");

        var grants = commit.Grants.Where(g => g.Key.StartsWith("/mesh/keys/", StringComparison.Ordinal)).ToList();
        Assert.That(grants.Select(g => g.Key), Is.EqualTo(new[] { MeshKeys.Grant(group, _bo.PeerId, 1) }));
        var grant = Peer.Crypto.KeyGrant.TryParse(grants[0].Value)!;
        Assert.That(GroupCommits.Accept(log, grant, _bo, out error)!.Check(group, 1), Is.EqualTo(commit.NewKey!.Check(group, 1)), error);
        Assert.That(GroupCommits.Accept(log, grant with { To = _cy.PeerId }, _cy, out _), Is.Null, "no one else opens the wrap");
        Assert.That(commit.Grants.Select(g => g.Key), Is.SupersetOf(new[] { MeshKeys.DirectNotice(_bo.PeerId, group), MeshKeys.DirectNotice(_amy.PeerId, group) }));
    }

    [Test]
    public void A_direct_conversation_never_takes_a_third_member_nor_changes_its_policy_or_members()
    {
        var commit = GroupCommits.Direct(_amy, "amy", MemberOf(_bo, "bo"), 1000);
        var group = DirectName.Of(_amy.PeerId, _bo.PeerId);
        var log = GroupLog.TryStart(group, commit.Record, out var error)!;
        var keys = new Dictionary<long, Peer.Crypto.GroupKey> { [1] = commit.NewKey! };

        var add = GroupCommits.Add(log, _amy, Joiners.Of(_cy, "cy", log), keys, 2000);
        Assert.That(log.TryApply(add.Record, out error), Is.False);
        Assert.That(error, Does.Contain("direct conversation"));
        Assert.That(log.TryApply(GroupCommits.Rotate(log, _amy, _bo.PeerId, 2000).Record, out _), Is.False, "no removal");
        Assert.That(log.TryApply(GroupCommits.Admin(log, _amy, _bo.PeerId, 2000).Record, out _), Is.False, "no admin");
        var policy = (log.Next(_amy, LogOp.Policy, 2000) with { Policy = LogEntry.Open }).Sign(_amy);
        Assert.That(log.TryApply(policy, out _), Is.False, "no policy change");
        Assert.That(log.Members.Count, Is.EqualTo(2));
        Assert.That(Newcomer.TryFrom(new Mesh.Coordinator.Membership.MemberRecord(_cy.PeerId, "cy", _cy.PublicKeyZ85, Convert.ToBase64String(_cy.SigningPublicKey), "tcp://127.0.0.1:1", 1000), log, out var reason), Is.Null, "no candidate is filed for an admission");
        Assert.That(reason, Does.Contain("direct"));

        // A leave is allowed (the conversation then has one member, who moves it to a new key).
        Assert.That(log.TryApply(GroupCommits.Leave(log, _bo, 3000).Record, out error), Is.True, error);
        Assert.That(log.Members.Keys, Is.EqualTo(new[] { _amy.PeerId }));
    }

    [Test]
    public void A_direct_genesis_under_another_pairs_name_or_with_oneself_is_refused()
    {
        var commit = GroupCommits.Direct(_amy, "amy", MemberOf(_bo, "bo"), 1000);
        Assert.That(GroupLog.TryStart(DirectName.Of(_amy.PeerId, _cy.PeerId), commit.Record, out _), Is.Null, "bound to its pair's name");
        var entry = LogEntry.TryParse(commit.Record, out _)!;
        var squatted = (entry with { Group = DirectName.Of(_bo.PeerId, _cy.PeerId) }).Sign(_amy);
        Assert.That(GroupLog.TryStart(DirectName.Of(_bo.PeerId, _cy.PeerId), squatted, out var error), Is.Null, "a third party cannot sit on bo and cy's name");
        Assert.That(error, Does.Contain("direct"));
        Assert.Throws<ArgumentException>(() => GroupCommits.Direct(_amy, "amy", MemberOf(_amy, "amy"), 1000));
        var withSelf = (entry with { Partner = _amy.PeerId, PartnerSigningKey = _amy.SigningPublicKey, PartnerCurveKey = _amy.PublicKeyZ85 }).Sign(_amy);
        Assert.That(GroupLog.TryStart(entry.Group, withSelf, out _), Is.Null, "a conversation with oneself");
    }

    [Test]
    public void A_notice_is_acted_on_only_when_its_genesis_names_this_peer_and_a_member_of_a_shared_group()
    {
        var shared = new[] { Shared() };
        var commit = GroupCommits.Direct(_amy, "amy", MemberOf(_bo, "bo"), 1000);
        var group = DirectName.Of(_amy.PeerId, _bo.PeerId);

        var found = DirectNotice.Check(MeshKeys.DirectNotice(_bo.PeerId, group), commit.Record, _bo, shared, out var error);
        Assert.That(found, Is.Not.Null, error);
        Assert.That(found!.Value.Group, Is.EqualTo(group));
        Assert.That(found.Value.Partner.PeerId, Is.EqualTo(_amy.PeerId));
        Assert.That(DirectNotice.Check(MeshKeys.DirectNotice(_amy.PeerId, group), commit.Record, _amy, shared, out error), Is.Not.Null, "the creator finds it again: " + error);

        Assert.That(DirectNotice.Check(MeshKeys.DirectNotice(_bo.PeerId, group), commit.Record, _bo, [], out error), Is.Null, "no shared group");
        Assert.That(error, Does.Contain("not a member"));
        Assert.That(DirectNotice.Check(MeshKeys.DirectNotice(_cy.PeerId, group), commit.Record, _cy, shared, out _), Is.Null, "cy is not in it");
        Assert.That(DirectNotice.Check(MeshKeys.DirectNotice(_bo.PeerId, group), commit.Record, _cy, shared, out _), Is.Null, "not under cy's prefix");
        Assert.That(DirectNotice.Check(MeshKeys.DirectNotice(_bo.PeerId, group), new byte[DirectNotice.MaxBytes + 1], _bo, shared, out _), Is.Null, "oversized");
        Assert.That(DirectNotice.Check(MeshKeys.DirectNotice(_bo.PeerId, group), "junk"u8, _bo, shared, out _), Is.Null, "junk");

        // An outsider (not in the shared group) opening a conversation with bo: its genesis is valid, but it shares no group.
        using var stranger = Identities.New();
        var cold = GroupCommits.Direct(stranger, "eve", MemberOf(_bo, "bo"), 1000);
        Assert.That(DirectNotice.Check(MeshKeys.DirectNotice(_bo.PeerId, DirectName.Of(stranger.PeerId, _bo.PeerId)), cold.Record, _bo, shared, out _), Is.Null);

        // Bo named with another Curve key: a grant to it would not open, and links would not be bo's.
        var wrongKey = GroupCommits.Direct(_amy, "amy", MemberOf(_bo, "bo") with { CurveKey = _cy.PublicKeyZ85 }, 1000);
        Assert.That(DirectNotice.Check(MeshKeys.DirectNotice(_bo.PeerId, group), wrongKey.Record, _bo, shared, out error), Is.Null);
        Assert.That(error, Does.Contain("Curve"));
    }

    [Test]
    public void A_name_resolves_to_the_one_member_of_that_name_and_bad_names_say_what_is_wrong()
    {
        var shared = new[] { Shared() };
        Assert.That(DirectPartner.Resolve("bo", _amy.PeerId, "amy", shared, out var problem)!.PeerId, Is.EqualTo(_bo.PeerId), problem);
        Assert.That(DirectPartner.Resolve("@bo", _amy.PeerId, "amy", shared, out problem)!.PeerId, Is.EqualTo(_bo.PeerId), "a label works too");
        Assert.That(DirectPartner.Resolve(_cy.PeerId, _amy.PeerId, "amy", shared, out problem)!.PeerId, Is.EqualTo(_cy.PeerId), "a peer id works");

        Assert.That(DirectPartner.Resolve("zed", _amy.PeerId, "amy", shared, out problem), Is.Null);
        Assert.That(problem, Does.Contain("no member named 'zed'"));
        Assert.That(DirectPartner.Resolve("amy", _amy.PeerId, "amy", shared, out problem), Is.Null);
        Assert.That(problem, Does.Contain("that is you"));
        Assert.That(DirectPartner.Resolve("amy", _amy.PeerId, "amy", [], out problem), Is.Null);
        Assert.That(problem, Does.Contain("that is you"), "yourself, even with no group");

        // A second group where another peer took the name bo: the name is ambiguous, the peer id is not.
        using var other = Identities.New();
        var genesis = GroupCommits.Genesis("side", LogEntry.Open, _amy, "amy", 1000);
        var side = GroupLog.TryStart("side", genesis.Record, out _)!;
        Assert.That(side.TryApply(GroupCommits.Add(side, _amy, Joiners.Of(other, "bo", side), new Dictionary<long, Peer.Crypto.GroupKey> { [1] = genesis.NewKey! }, 1000).Record, out _), Is.True);
        Assert.That(DirectPartner.Resolve("bo", _amy.PeerId, "amy", [shared[0], side], out problem), Is.Null);
        Assert.That(problem, Does.Contain("ambiguous").And.Contain(other.PeerId).And.Contain(_bo.PeerId));
        Assert.That(DirectPartner.Resolve(other.PeerId, _amy.PeerId, "amy", [shared[0], side], out _)!.PeerId, Is.EqualTo(other.PeerId));

        // Only groups this peer is a member of vouch for names.
        Assert.That(DirectPartner.Resolve("bo", _cy.PeerId, "cy", [side], out problem), Is.Null);
        Assert.That(problem, Does.Contain("no member named"));
    }
}
