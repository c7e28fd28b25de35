using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Identity;
using Mesh.Peer.Session;
using Mesh.UnitTests.Groups;
using Mesh.UnitTests.Protocol;

namespace Mesh.UnitTests.Session;

/// <summary>Keys a member lacks: asked after a pause and again later, answered once per ask by members that hold them,
/// and only for members of the log.</summary>
[Category("Unit")]
public sealed class KeyRecoveryTests
{
    private const long Now = 1_000_000;
    private PeerIdentity _amy = null!;
    private PeerIdentity _bo = null!;
    private PeerIdentity _outsider = null!;
    private GroupState _state = null!;

    [SetUp]
    public void Start()
    {
        _amy = Identities.New();
        _bo = Identities.New();
        _outsider = Identities.New();
        var genesis = GroupCommits.Genesis("g", LogEntry.Open, _amy, "amy", Now);
        var log = GroupLog.TryStart("g", genesis.Record, out _)!;
        var keys = new Dictionary<long, GroupKey> { [1] = genesis.NewKey! };
        Assert.That(log.TryApply(GroupCommits.Add(log, _amy, Joiners.Of(_bo, "bo", log), keys, Now).Record, out var why), Is.True, why);
        Assert.That(log.TryApply(GroupCommits.Rotate(log, _amy, null, Now).Record, out why), Is.True, why);
        _state = new GroupState("g") { Follower = new LogFollower(log) };
    }

    [TearDown]
    public void Stop()
    {
        _amy.Dispose();
        _bo.Dispose();
        _outsider.Dispose();
    }

    [Test]
    public void A_member_asks_for_what_it_lacks_after_a_pause_and_again_only_after_a_while()
    {
        var recovery = new KeyRecovery();
        Func<long, bool> holdsOnlyEpoch1 = e => e == 1;
        Assert.That(recovery.AskDue(_state, _bo.PeerId, holdsOnlyEpoch1, Now), Is.Null, "noticed, not asked yet");
        Assert.That(recovery.AskDue(_state, _bo.PeerId, holdsOnlyEpoch1, Now + 1_000), Is.Null);
        var asked = recovery.AskDue(_state, _bo.PeerId, holdsOnlyEpoch1, Now + (long)KeyRecovery.AskAfter.TotalMilliseconds);
        Assert.That(asked, Is.EqualTo(new long[] { 2 }));
        Assert.That(recovery.Asked("g"), Is.True);
        Assert.That(recovery.AskDue(_state, _bo.PeerId, holdsOnlyEpoch1, Now + 10_000), Is.Null, "one ask stands a while");
        Assert.That(recovery.AskDue(_state, _bo.PeerId, holdsOnlyEpoch1, Now + 6_000 + (long)KeyRecovery.AskAgainAfter.TotalMilliseconds), Is.Not.Null, "then it is made again");

        Assert.That(recovery.AskDue(_state, _bo.PeerId, _ => true, Now + 60_000), Is.Null);
        Assert.That(recovery.Asked("g"), Is.False, "all keys here: the ask can go");
        Assert.That(recovery.AskDue(_state, _outsider.PeerId, _ => false, Now), Is.Null, "a non-member asks nothing");
    }

    [Test]
    public void An_ask_is_answered_once_at_this_peers_turn_unless_withdrawn_and_a_non_members_never()
    {
        var recovery = new KeyRecovery();
        var ask = KeyRequest.TryParse(KeyRequest.Create("g", _bo, [1, 2], Now), "g")!;
        recovery.OnAsk(_state, ask, _ => true, TimeSpan.FromSeconds(2), Now);
        Assert.That(recovery.AnswersDue(Now + 1_000), Is.Empty, "not this peer's turn yet");
        var due = recovery.AnswersDue(Now + 2_000);
        Assert.That(due.Single().Request.Due(_state.Log), Is.EqualTo(new long[] { 1, 2 }));
        recovery.OnAsk(_state, ask, _ => true, TimeSpan.Zero, Now + 3_000);
        Assert.That(recovery.AnswersDue(Now + 3_000), Is.Empty, "one member at most every few seconds");

        recovery.OnAsk(_state, ask, _ => true, TimeSpan.Zero, Now + 60_000);
        recovery.Withdrawn("g", _bo.PeerId);
        Assert.That(recovery.AnswersDue(Now + 60_000), Is.Empty, "withdrawn: it has its keys");

        var stranger = KeyRequest.TryParse(KeyRequest.Create("g", _outsider, [1, 2], Now), "g")!;
        Assert.That(stranger.Due(_state.Log), Is.Empty);
        recovery.OnAsk(_state, stranger, _ => true, TimeSpan.Zero, Now + 90_000);
        Assert.That(recovery.AnswersDue(Now + 90_000), Is.Empty, "a non-member is granted nothing");
    }

    [Test]
    public void A_key_request_is_bound_to_its_group_and_signer()
    {
        var record = KeyRequest.Create("g", _bo, [2], Now);
        Assert.That(KeyRequest.TryParse(record, "other"), Is.Null);
        var text = System.Text.Encoding.UTF8.GetString(record).Replace("\\u0022epochs\\u0022:\\u00222\\u0022", "\\u0022epochs\\u0022:\\u00221\\u0022")
            .Replace("\\\"epochs\\\":\\\"2\\\"", "\\\"epochs\\\":\\\"1\\\"");
        Assert.That(text, Is.Not.EqualTo(System.Text.Encoding.UTF8.GetString(record)), "the test edits the epochs");
        Assert.That(KeyRequest.TryParse(System.Text.Encoding.UTF8.GetBytes(text), "g"), Is.Null);
        Assert.That(KeyRequest.TryParse("junk"u8, "g"), Is.Null);
    }
}
