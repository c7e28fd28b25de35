using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Identity;
using Mesh.Peer.Protocol;
using Mesh.Peer.Session;
using Mesh.UnitTests.Protocol;

using Mesh.UnitTests.Groups;

namespace Mesh.UnitTests.Session;

/// <summary>What opens for a group, checked against a real group log and keyring (no etcd, no sockets).</summary>
[Category("Unit")]
public sealed class EnvelopeGateTests
{
    private string _home = null!;
    private PeerIdentity _me = null!;
    private PeerIdentity _bo = null!;
    private PeerIdentity _outsider = null!;
    private EpochKeyring _keyring = null!;
    private EnvelopeGate _gate = null!;
    private GroupState _state = null!;
    private Dictionary<long, GroupKey> _keys = null!;

    [SetUp]
    public void Start()
    {
        _home = Path.Combine(Path.GetTempPath(), $"mesh-gate-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_home);
        _me = Identities.New();
        _bo = Identities.New();
        _outsider = Identities.New();
        _keyring = new EpochKeyring(_home);
        _gate = new EnvelopeGate(_me.PeerId, _keyring, new VerifiedBursts());
        var genesis = GroupCommits.Genesis("g", LogEntry.Open, _me, "amy", 1000);
        var log = GroupLog.TryStart("g", genesis.Record, out var error) ?? throw new AssertionException(error);
        _keys = new Dictionary<long, GroupKey> { [1] = genesis.NewKey! };
        Apply(log, GroupCommits.Add(log, _me, Joiners.Of(_bo, "bo", log), _keys, 2000));
        _keyring.Save("g", [(1, _keys[1])]);
        _state = new GroupState("g") { Follower = new LogFollower(log), CanSend = true };
        _state.MoveTo(GroupPhase.Loading);
    }

    [TearDown]
    public void Stop()
    {
        foreach (var identity in new[] { _me, _bo, _outsider })
        {
            identity.Dispose();
        }

        Directory.Delete(_home, recursive: true);
    }

    private static void Apply(GroupLog log, GroupCommits.Commit commit) =>
        Assert.That(log.TryApply(commit.Record, out var error), Is.True, error);

    private static SealedEnvelope Sealed(PeerIdentity sender, GroupKey key, long keyEpoch, long logHead, string text = "hi", long sentAtMs = 5_000, string group = "g") =>
        EnvelopeCodec.TryParse(EnvelopeCodec.Seal(new Envelope(group, sender.PeerId, 1, 1, "x", sentAtMs, text), key, sender, keyEpoch, logHead))!;

    private Envelope? Open(SealedEnvelope parsed, bool live, long nowMs, out RejectReason reason, out bool park) =>
        _gate.Open(_state, parsed, live, nowMs, out reason, out park);

    [Test]
    public void A_members_message_under_the_current_epoch_opens()
    {
        var opened = Open(Sealed(_bo, _keys[1], 1, _state.Log.Head), live: true, 6_000, out _, out var park);
        Assert.That(opened?.Text, Is.EqualTo("hi"));
        Assert.That(park, Is.False);
    }

    [Test]
    public void Live_the_members_curve_link_vouches_for_it_so_a_bad_signature_opens_there_and_nowhere_else()
    {
        var good = Sealed(_bo, _keys[1], 1, _state.Log.Head);
        var signature = good.Signature.ToArray();
        signature[0] ^= 1;
        var unsigned = good with { Signature = signature };
        Assert.That(Open(unsigned, live: true, 6_000, out _, out _)?.Text, Is.EqualTo("hi"), "no signature check on the member's own link");
        Assert.That(Open(unsigned, live: false, 6_000, out var reason, out _), Is.Null, "read again from history or a local copy, it is checked");
        Assert.That(reason, Is.EqualTo(RejectReason.BadSignature));
    }

    [Test]
    public void Live_a_signing_key_that_is_not_the_peer_ids_is_still_refused()
    {
        var claimed = Sealed(_bo, _keys[1], 1, _state.Log.Head) with { SigningKey = _outsider.SigningPublicKey };
        Assert.That(Open(claimed, live: true, 6_000, out var reason, out _), Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.BadSignature).Or.EqualTo(RejectReason.NotAMember));
    }

    [Test]
    public void A_message_from_someone_the_log_does_not_hold_is_refused_even_under_the_right_key()
    {
        var opened = Open(Sealed(_outsider, _keys[1], 1, _state.Log.Head), live: true, 6_000, out var reason, out var park);
        Assert.That(opened, Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.NotAMember));
        Assert.That(park, Is.False, "nothing to wait for");
    }

    [Test]
    public void A_message_under_an_epoch_not_known_here_yet_is_parked_not_opened()
    {
        var opened = Open(Sealed(_bo, GroupKey.Create(), 2, _state.Log.Head + 1), live: true, 6_000, out var reason, out var park);
        Assert.That(opened, Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.NotSealedForGroup));
        Assert.That(park, Is.True, "it may open once the log and the key catch up");
    }

    [Test]
    public void A_message_under_a_key_other_than_the_epochs_is_refused()
    {
        var opened = Open(Sealed(_bo, GroupKey.Create(), 1, _state.Log.Head), live: true, 6_000, out var reason, out _);
        Assert.That(opened, Is.Null);
        Assert.That(reason, Is.Not.EqualTo(RejectReason.None));
    }

    [Test]
    public void A_message_claiming_another_group_is_not_opened_with_this_groups_key()
    {
        var opened = Open(Sealed(_bo, _keys[1], 1, _state.Log.Head, group: "other"), live: true, 6_000, out var reason, out _);
        Assert.That(opened, Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.NotSealedForGroup));
    }

    [Test]
    public void Live_an_ended_epoch_is_taken_as_history_takes_it_and_past_the_grace_its_sender_is_named_as_not_having_the_new_key()
    {
        var before = Sealed(_bo, _keys[1], 1, _state.Log.Head);
        var rotation = GroupCommits.Rotate(_state.Log, _me, null, 3000);
        Apply(_state.Log, rotation);
        _keyring.Save("g", [(2, rotation.NewKey!)]);
        _state.EpochEndSeenMs[1] = 10_000;
        var grace = (long)EnvelopeGate.InFlightGrace.TotalMilliseconds;

        Assert.That(Open(before, live: true, 10_000 + grace, out _, out _), Is.Not.Null, "in flight when the rotation was heard of");
        Assert.That(_gate.StaleFor, Is.Null, "within the grace: nothing to say");
        Assert.That(Open(before, live: true, 10_000 + grace + 1, out var reason, out var park), Is.Not.Null,
            "an honest sender that has not read the new key: taken, never counted as junk");
        Assert.That((reason, park), Is.EqualTo((RejectReason.None, false)));
        Assert.That(_gate.StaleFor, Is.EqualTo(1), "its sender still seals under epoch 1");
        Assert.That(Open(before, live: false, 10_000 + grace + 1, out _, out _), Is.Not.Null, "history takes it the same");
    }

    [Test]
    public void A_sender_that_claims_to_know_the_epochs_successor_cannot_seal_under_it()
    {
        var rotation = GroupCommits.Rotate(_state.Log, _me, null, 3000);
        Apply(_state.Log, rotation);
        _keyring.Save("g", [(2, rotation.NewKey!)]);
        var opened = Open(Sealed(_bo, _keys[1], 1, _state.Log.Head), live: false, 6_000, out var reason, out _);
        Assert.That(opened, Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.NotAMember));
    }
}
