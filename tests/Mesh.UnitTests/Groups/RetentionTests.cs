using Mesh.Peer.Groups;
using Mesh.UnitTests.Protocol;

namespace Mesh.UnitTests.Groups;

/// <summary>A group's retention is typed by people, signed into its genesis, and read back the same by every member.</summary>
[Category("Unit")]
public sealed class RetentionTests
{
    [TestCase("90d", 90 * 24 * 60, null)]
    [TestCase("12h", 12 * 60, null)]
    [TestCase("30m", 30, null)]
    [TestCase("2w", 14 * 24 * 60, null)]
    [TestCase("1y", 365 * 24 * 60, null)]
    [TestCase("50000", null, 50000L)]
    [TestCase("90d,50000", 90 * 24 * 60, 50000L)]
    [TestCase(" 50000 , 7d ", 7 * 24 * 60, 50000L)]
    public void Ages_counts_and_both_are_read(string text, int? minutes, long? count)
    {
        var keep = Retention.TryParse(text, out var error);
        Assert.That(keep, Is.Not.Null, error);
        Assert.That(keep!.Value.MaxAge, Is.EqualTo(minutes is { } m ? TimeSpan.FromMinutes(m) : (TimeSpan?)null));
        Assert.That(keep.Value.MaxCount, Is.EqualTo(count));
        Assert.That(Retention.TryParse(keep.Value.ToString(), out _), Is.EqualTo(keep), "what is stored reads back the same");
    }

    [TestCase("", "not a retention")]
    [TestCase("90x", "not an age or a count")]
    [TestCase("0", "keep 1 to")]
    [TestCase("-5", "not an age or a count")]
    [TestCase("30s", "not an age or a count")]
    [TestCase("0m", "between 1 minute and 100 years")]
    [TestCase("200y", "between 1 minute and 100 years")]
    [TestCase("90d,30d", "not an age or a count")]
    [TestCase("5,6", "once")]
    [TestCase("1d,2,3", "not a retention")]
    [TestCase("99999999999999999999", "not an age or a count")]
    [TestCase("100000000y", "between 1 minute and 100 years")]
    [TestCase("99999999w", "between 1 minute and 100 years")]
    public void Anything_else_is_refused_naming_what_is_wrong(string text, string says)
    {
        Assert.That(Retention.TryParse(text, out var error), Is.Null);
        Assert.That(error, Does.Contain(says));
    }

    [Test]
    public void All_keeps_everything_and_the_default_is_a_year_and_a_million()
    {
        Assert.That(Retention.TryParse("all", out _)!.Value.KeepsAll, Is.True);
        Assert.That(Retention.Default.ToString(), Is.EqualTo("1y,1000000"));
        Assert.That(Retention.Default.Describe(), Is.EqualTo("1y of history, at most 1,000,000 messages"));
    }

    [Test]
    public void The_genesis_carries_the_retention_signed_and_a_group_from_before_keeps_everything()
    {
        using var creator = Identities.New();
        var keep = Retention.TryParse("7d,100", out _);
        var log = GroupLog.TryStart("g", GroupCommits.Genesis("g", LogEntry.Open, creator, "amy", 1, keep).Record, out var error);
        Assert.That(log, Is.Not.Null, error);
        Assert.That(log!.Retention, Is.EqualTo(keep));
        Assert.That(GroupLog.TryStart("g", GroupCommits.Genesis("g", LogEntry.Open, creator, "amy", 1).Record, out _)!.Retention, Is.EqualTo(Retention.Default));

        // A genesis without the field (made before retention) keeps everything: nothing it held is deleted.
        var old = new LogEntry
        {
            Group = "g", Index = 0, Previous = "", AtMs = 1, By = creator.PeerId, SigningKey = creator.SigningPublicKey, Op = LogOp.Genesis,
            Policy = LogEntry.Open, Peer = creator.PeerId, PeerCurveKey = creator.PublicKeyZ85, PeerName = "amy", Epoch = 1, KeyCheck = "check",
        };
        Assert.That(GroupLog.TryStart("g", old.Sign(creator), out error)!.Retention.KeepsAll, Is.True, error);

        // A retention that does not parse makes the entry invalid, and only a genesis may carry one.
        Assert.That(LogEntry.TryParse((old with { Keep = "forever" }).Sign(creator), out _), Is.Null);
        Assert.That(LogEntry.TryParse((old with { Keep = "7d", Op = LogOp.Policy, Index = 1 }).Sign(creator), out _), Is.Null);
    }
}
