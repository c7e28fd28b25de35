using Mesh.Peer.Session;

namespace Mesh.UnitTests.Session;

/// <summary>How a direct conversation is named for the user: <c>@NAME</c> in every event, and back to its group for what
/// the user types.</summary>
[Category("Unit")]
public sealed class DirectLabelsTests
{
    private const string Dm = "dm-0123456789abcdef0123";

    [Test]
    public void Events_of_a_conversation_carry_its_label_and_other_groups_keep_their_names()
    {
        var labels = new DirectLabels();
        Assert.That(labels.Add(Dm, "bo", "a1b2c3d4e5f60718293a4b5c6d7e8f90"), Is.EqualTo("@bo"));
        var at = DateTimeOffset.UnixEpoch;
        Assert.That(((ReadyEvent)labels.Relabel(new ReadyEvent(Dm, ["amy", "bo"]))).Group, Is.EqualTo("@bo"));
        Assert.That(((MessageEvent)labels.Relabel(new MessageEvent(Dm, "x:1", "bo", "hi", at, Own: false))).Group, Is.EqualTo("@bo"));
        Assert.That(((ReactionEvent)labels.Relabel(new ReactionEvent(Dm, "x:2", "x:1", "bo", "+1", false, at))).Group, Is.EqualTo("@bo"));
        Assert.That(((MemberEvent)labels.Relabel(new MemberEvent(Dm, "bo", "p", Joined: true))).Group, Is.EqualTo("@bo"));
        Assert.That(((ErrorEvent)labels.Relabel(new ErrorEvent("e") { Group = Dm })).Group, Is.EqualTo("@bo"));
        Assert.That(((WaitingEvent)labels.Relabel(new WaitingEvent(Dm, "w"))).Group, Is.EqualTo("@bo"));
        Assert.That(((MessageEvent)labels.Relabel(new MessageEvent("ops", "x:1", "bo", "hi", at, Own: false))).Group, Is.EqualTo("ops"));
        Assert.That(labels.GroupOf("@bo"), Is.EqualTo(Dm));
        Assert.That(labels.GroupOf("ops"), Is.EqualTo("ops"));
    }

    [Test]
    public void Two_partners_of_one_name_get_labels_told_apart_and_a_label_is_given_once()
    {
        var labels = new DirectLabels();
        Assert.That(labels.Add(Dm, "bo", "a1b2c3d4e5f60718293a4b5c6d7e8f90"), Is.EqualTo("@bo"));
        Assert.That(labels.Add("dm-ffff", "bo", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"), Is.EqualTo("@bo~0f1e2d"));
        Assert.That(labels.Add(Dm, "bo", "a1b2c3d4e5f60718293a4b5c6d7e8f90"), Is.EqualTo("@bo"));
        Assert.That(labels.GroupOf("@bo~0f1e2d"), Is.EqualTo("dm-ffff"));
        Assert.That(DirectLabels.IsLabelForm("@bo"), Is.True);
        Assert.That(DirectLabels.IsLabelForm("@bo~0f1e2d"), Is.True);
        Assert.That(DirectLabels.IsLabelForm("@"), Is.False);
        Assert.That(DirectLabels.IsLabelForm("bo"), Is.False);
        Assert.That(DirectLabels.IsLabelForm("@bo~x"), Is.False);
        Assert.That(DirectLabels.IsLabelForm("@b o"), Is.False);
    }
}
