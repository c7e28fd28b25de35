using Mesh.Peer.Protocol;

namespace Mesh.UnitTests.Protocol;

[Category("Unit")]
public sealed class TopicsTests
{
    [Test]
    public void A_group_topic_is_not_a_prefix_of_a_longer_group_name()
    {
        var ops = Topics.ForGroup("ops");
        var ops2 = Topics.ForGroup("ops2");
        Assert.That(ops2.AsSpan().StartsWith(ops), Is.False);
        Assert.That(Topics.GroupOf(ops), Is.EqualTo("ops"));
    }

    [Test]
    public void Control_topics_are_not_groups()
    {
        Assert.That(Topics.GroupOf(Topics.Hello), Is.Null);
        Assert.That(Topics.GroupOf("ops"u8), Is.Null);
    }
}
