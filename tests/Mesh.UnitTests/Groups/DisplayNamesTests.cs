using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.UnitTests.Protocol;

namespace Mesh.UnitTests.Groups;

[Category("Unit")]
public sealed class DisplayNamesTests
{
    [Test]
    public void Two_members_with_one_name_are_shown_with_fingerprints_and_found_by_them()
    {
        using var a = Identities.New();
        using var b = Identities.New();
        using var c = Identities.New();
        var genesis = GroupCommits.Genesis("g", LogEntry.Open, a, "amy", 1);
        var log = GroupLog.TryStart("g", genesis.Record, out _)!;
        var keys = new Dictionary<long, GroupKey> { [1] = genesis.NewKey! };
        Assert.That(DisplayNames.Label(log, a.PeerId, "amy"), Is.EqualTo("amy"));
        log.TryApply(GroupCommits.Add(log, a, Joiners.Of(b, "amy", log), keys, 2).Record, out _);
        log.TryApply(GroupCommits.Add(log, a, Joiners.Of(c, "cy", log), keys, 3).Record, out _);

        var first = DisplayNames.Label(log, a.PeerId, "amy");
        var second = DisplayNames.Label(log, b.PeerId, "amy");
        Assert.That(first, Is.EqualTo("amy#" + DisplayNames.ShortFingerprint(a.SigningPublicKey)));
        Assert.That(second, Is.Not.EqualTo(first));
        Assert.That(DisplayNames.Label(log, c.PeerId, "amy"), Is.EqualTo("cy"), "cy calling itself amy is shown by the name the log pinned");
        Assert.That(DisplayNames.Label(log, c.PeerId, "cy"), Is.EqualTo("cy"));
        Assert.That(DisplayNames.Label(log, "stranger", "bad\u001b[2J"), Is.EqualTo(Mesh.Peer.Configuration.Naming.Printable("bad\u001b[2J")));

        Assert.That(DisplayNames.Find(log, "amy", out var error), Is.Null);
        Assert.That(error, Does.Contain("2 members"));
        Assert.That(DisplayNames.Find(log, second, out _)!.PeerId, Is.EqualTo(b.PeerId));
        Assert.That(DisplayNames.Find(log, "zed", out error), Is.Null);
        Assert.That(error, Does.Contain("no member"));
    }

    [Test]
    public void A_newcomer_taking_a_departed_members_name_is_told_apart_from_it()
    {
        using var a = Identities.New();
        using var old = Identities.New();
        using var impostor = Identities.New();
        var genesis = GroupCommits.Genesis("g", LogEntry.Open, a, "amy", 1);
        var log = GroupLog.TryStart("g", genesis.Record, out _)!;
        var keys = new Dictionary<long, GroupKey> { [1] = genesis.NewKey! };
        Assert.That(log.TryApply(GroupCommits.Add(log, a, Joiners.Of(old, "mallory", log), keys, 2).Record, out _), Is.True);
        Assert.That(DisplayNames.Label(log, old.PeerId, "mallory"), Is.EqualTo("mallory"));
        Assert.That(log.TryApply(GroupCommits.Rotate(log, a, old.PeerId, 3, []).Record, out _), Is.True);
        Assert.That(log.TryApply(GroupCommits.Add(log, a, Joiners.Of(impostor, "mallory", log), keys, 4).Record, out var why), Is.True, why);

        Assert.That(DisplayNames.Label(log, impostor.PeerId, "mallory"), Is.EqualTo("mallory#" + DisplayNames.ShortFingerprint(impostor.SigningPublicKey)));
        Assert.That(DisplayNames.Label(log, old.PeerId, "mallory"), Is.EqualTo("mallory#" + DisplayNames.ShortFingerprint(old.SigningPublicKey)), "in history too");
    }

    [Test]
    public void The_lowest_peer_id_acts_first_and_the_others_after_it()
    {
        Assert.That(CommitRank.DelayOf("a", ["b", "c"]), Is.EqualTo(TimeSpan.Zero));
        Assert.That(CommitRank.DelayOf("c", ["b", "a"]), Is.EqualTo(CommitRank.Step * 2));
    }
}
