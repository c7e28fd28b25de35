using Mesh.Coordinator.Membership;
using Mesh.Peer.Groups;
using Mesh.Peer.Identity;
using Mesh.Peer.Session;
using Mesh.UnitTests.Protocol;

using Mesh.UnitTests.Groups;

namespace Mesh.UnitTests.Session;

/// <summary>Presence records are written by anyone: the table follows only what their peers signed and the log pinned.</summary>
[Category("Unit")]
public sealed class MemberTableTests
{
    private PeerIdentity _amy = null!;
    private PeerIdentity _bo = null!;
    private PeerIdentity _cy = null!;
    private GroupLog _log = null!;
    private MemberTable _table = null!;

    [SetUp]
    public void Start()
    {
        _amy = Identities.New();
        _bo = Identities.New();
        _cy = Identities.New();
        var genesis = GroupCommits.Genesis("g", LogEntry.Open, _amy, "amy", 1000);
        _log = GroupLog.TryStart("g", genesis.Record, out var error) ?? throw new AssertionException(error);
        var keys = new Dictionary<long, Mesh.Peer.Crypto.GroupKey> { [1] = genesis.NewKey! };
        var add = GroupCommits.Add(_log, _amy, Joiners.Of(_bo, "bo", _log), keys, 2000);
        Assert.That(_log.TryApply(add.Record, out error), Is.True, error);
        _table = new MemberTable("g");
    }

    [TearDown]
    public void Stop()
    {
        foreach (var identity in new[] { _amy, _bo, _cy })
        {
            identity.Dispose();
        }
    }

    private MemberRecord RecordOf(PeerIdentity peer, string endpoint = "tcp://127.0.0.1:5000", string group = "g", string name = "x") =>
        MemberSignature.Sign(new MemberRecord(peer.PeerId, name, peer.PublicKeyZ85, Convert.ToBase64String(peer.SigningPublicKey), endpoint, 1)
        {
            Group = group,
            Consent = Convert.ToBase64String(JoinConsent.Sign(peer, group, _log.GenesisHash, name)),
        }, peer);

    [Test]
    public void A_signed_record_the_log_could_not_add_is_unfit_and_never_a_candidate()
    {
        Assert.That(_table.Sort(RecordOf(_cy, name: "bad name\u001b[2J"), _log), Is.EqualTo(MemberSort.Unfit), "a name the log refuses");
        Assert.That(_table.Sort(RecordOf(_cy) with { Consent = null } is var bare ? MemberSignature.Sign(bare, _cy) : null!, _log), Is.EqualTo(MemberSort.Unfit), "no consent");
        var other = RecordOf(_cy);
        var forOther = MemberSignature.Sign(other with { Consent = Convert.ToBase64String(JoinConsent.Sign(_cy, "g", "another genesis", "x")) }, _cy);
        Assert.That(_table.Sort(forOther, _log), Is.EqualTo(MemberSort.Unfit), "a consent to another group of that name");
        Assert.That(_table.Candidates, Is.Empty);
        Assert.That(_table.Sort(RecordOf(_cy), _log), Is.EqualTo(MemberSort.Candidate));
    }

    [Test]
    public void A_members_signed_record_is_followed_once_and_a_new_endpoint_says_it_moved()
    {
        Assert.That(_table.Sort(RecordOf(_bo), _log), Is.EqualTo(MemberSort.NewMember));
        Assert.That(_table.Sort(RecordOf(_bo), _log), Is.EqualTo(MemberSort.Member));
        Assert.That(_table.Sort(RecordOf(_bo, "tcp://127.0.0.1:6000"), _log), Is.EqualTo(MemberSort.Moved));
        Assert.That(_table.Members[_bo.PeerId].Endpoint, Is.EqualTo("tcp://127.0.0.1:6000"));
    }

    [Test]
    public void A_record_rewritten_by_someone_else_is_ignored_and_the_member_stays_where_it_was()
    {
        _table.Sort(RecordOf(_bo), _log);
        var moved = RecordOf(_bo) with { Endpoint = "tcp://127.0.0.1:6666" };
        Assert.That(_table.Sort(moved, _log), Is.EqualTo(MemberSort.NotSigned));
        Assert.That(_table.Members[_bo.PeerId].Endpoint, Is.EqualTo("tcp://127.0.0.1:5000"));
    }

    [Test]
    public void A_record_for_another_group_is_not_this_groups()
    {
        Assert.That(_table.Sort(RecordOf(_bo, group: "other"), _log), Is.EqualTo(MemberSort.NotSigned));
        Assert.That(_table.Members, Is.Empty);
    }

    [Test]
    public void A_member_with_keys_other_than_the_logs_is_not_followed()
    {
        // Signed by an impostor who claims bo's peer id is impossible (the id is its signing key's hash), so the
        // impostor is a real peer whose record names keys bo's log entry does not pin: its own.
        var withOtherCurve = MemberSignature.Sign(RecordOf(_bo) with { PublicKeyZ85 = _cy.PublicKeyZ85, Signature = null }, _bo);
        Assert.That(_table.Sort(withOtherCurve, _log), Is.EqualTo(MemberSort.KeysNotTheLogs));
        Assert.That(_table.Members, Is.Empty);
    }

    [Test]
    public void A_peer_the_log_does_not_hold_is_a_candidate_until_admitted_then_a_member()
    {
        Assert.That(_table.Sort(RecordOf(_cy), _log), Is.EqualTo(MemberSort.Candidate));
        Assert.That(_table.Candidates.Keys, Is.EqualTo(new[] { _cy.PeerId }));
        Assert.That(_table.Members, Is.Empty);
        var admitted = _table.Admitted(_cy.PeerId);
        Assert.That(admitted?.PeerId, Is.EqualTo(_cy.PeerId));
        Assert.That(_table.Candidates, Is.Empty);
    }

    [Test]
    public void A_departed_member_is_neither_followed_nor_a_candidate_again()
    {
        _table.Sort(RecordOf(_bo), _log);
        var remove = GroupCommits.Rotate(_log, _amy, _bo.PeerId, 3000);
        Assert.That(_log.TryApply(remove.Record, out var error), Is.True, error);
        Assert.That(_table.Removed(_bo.PeerId)?.PeerId, Is.EqualTo(_bo.PeerId));
        Assert.That(_table.Sort(RecordOf(_bo), _log), Is.EqualTo(MemberSort.Departed));
        Assert.That(_table.Members, Is.Empty);
        Assert.That(_table.Candidates, Is.Empty);
    }

    [Test]
    public void A_presence_that_goes_takes_the_member_or_the_candidate_with_it()
    {
        _table.Sort(RecordOf(_bo), _log);
        _table.Sort(RecordOf(_cy), _log);
        Assert.That(_table.Gone(_bo.PeerId)?.PeerId, Is.EqualTo(_bo.PeerId));
        Assert.That(_table.Gone(_cy.PeerId), Is.Null, "a candidate is no member");
        Assert.That(_table.Candidates, Is.Empty);
        Assert.That(_table.Members, Is.Empty);
    }
}
