using Mesh.Peer.Configuration;

namespace Mesh.UnitTests.Configuration;

[Category("Unit")]
public sealed class NamingTests
{
    [TestCase("ops")]
    [TestCase("a")]
    [TestCase("Team-1.dev_x")]
    public void Valid_group_names_are_accepted(string group) => Assert.That(Naming.IsValidGroup(group), Is.True);

    [TestCase("")]
    [TestCase("-lead")]
    [TestCase(".hidden")]
    [TestCase("has space")]
    [TestCase("slash/y")]
    [TestCase("ünï")]
    [TestCase("nul\0")]
    public void Invalid_group_names_are_rejected(string group) => Assert.That(Naming.IsValidGroup(group), Is.False);

    [Test]
    public void Group_names_are_limited_to_64_characters()
    {
        Assert.That(Naming.IsValidGroup(new string('g', 64)), Is.True);
        Assert.That(Naming.IsValidGroup(new string('g', 65)), Is.False);
    }

    [Test]
    public void Names_are_limited_to_32_characters()
    {
        Assert.That(Naming.IsValidName(new string('n', 32)), Is.True);
        Assert.That(Naming.IsValidName(new string('n', 33)), Is.False);
    }

    [Test]
    public void RequireName_throws_one_line_naming_the_rule()
    {
        var e = Assert.Throws<MeshException>(() => Naming.RequireName("bad name"))!;
        Assert.That(e.Message, Does.Contain("'bad name'").And.Contain("1-32 characters").And.Not.Contain("\n"));
        Assert.That(e.ExitCode, Is.EqualTo(2));
    }

    [Test]
    public void Printable_removes_control_characters_and_shortens()
    {
        Assert.That(Naming.Printable("a\nb\u001b"), Is.EqualTo("a?b?"));
        Assert.That(Naming.Printable(new string('x', 100)), Has.Length.EqualTo(41));
    }
}
