using Mesh.Peer.Groups;
using Mesh.Peer.Session;

namespace Mesh.UnitTests.Session;

/// <summary>The words after <c>/join</c>, <c>/invite</c> and <c>/accept</c>: what each asks for, and a mistake told in
/// one line that says how the command is written.</summary>
[Category("Unit")]
public sealed class CommandArgumentsTests
{
    private static readonly string Genesis = new('a', 64);

    [Test]
    public void Join_private_creates_without_asking_and_a_plain_join_asks()
    {
        var made = JoinArguments.ParseJoin("secret --private", out var error);
        Assert.That(error, Is.Empty);
        Assert.That((made!.Group, made.Request.Private, made.Request.Invite, made.Confirm), Is.EqualTo(("secret", true, (string?)null, false)));
        var plain = JoinArguments.ParseJoin("ops", out _);
        Assert.That((plain!.Request, plain.Confirm), Is.EqualTo((JoinRequest.Default, true)));
        Assert.That(JoinArguments.ParseJoin("--private   secret", out _)!.Group, Is.EqualTo("secret"));
    }

    [Test]
    public void Join_with_an_invite_takes_a_code_for_that_group()
    {
        using var invite = Invite.Create(Genesis, "secret");
        var join = JoinArguments.ParseJoin($"secret --invite {invite.Code}", out var error);
        Assert.That(error, Is.Empty);
        Assert.That((join!.Request.Invite, join.Confirm), Is.EqualTo((invite.Code, false)));
        Assert.That(JoinArguments.ParseJoin($"other --invite {invite.Code}", out error), Is.Null);
        Assert.That(error, Is.EqualTo("/join: the code is for group 'secret', not 'other' (usage: /join G [--private | --invite CODE])"));
    }

    [TestCase(null, "name a group")]
    [TestCase("--private", "name a group")]
    [TestCase("a b", "one group at a time ('b' is one too many)")]
    [TestCase("a --bogus", "no option '--bogus'")]
    [TestCase("a --invite", "--invite needs the code after it")]
    [TestCase("a --invite mesh3.x", "not an invite code")]
    [TestCase("bad/name", "invalid group name 'bad/name'")]
    [TestCase("a b c d e f g h i j", "too many words")]
    public void A_wrong_join_is_one_line_with_its_usage(string? argument, string problem)
    {
        Assert.That(JoinArguments.ParseJoin(argument, out var error), Is.Null);
        Assert.That(error, Does.StartWith("/join: ").And.Contain(problem).And.EndWith("(usage: /join G [--private | --invite CODE])"));
        Assert.That(error, Does.Not.Contain("\n"));
    }

    [Test]
    public void Join_private_with_an_invite_is_refused()
    {
        using var invite = Invite.Create(Genesis, "a");
        Assert.That(JoinArguments.ParseJoin($"a --private --invite {invite.Code}", out var error), Is.Null);
        Assert.That(error, Does.Contain("not both"));
    }

    [Test]
    public void Invite_defaults_to_the_current_group_and_a_day()
    {
        var invite = InviteArguments.Parse(null, "ops", out var error);
        Assert.That(error, Is.Empty);
        Assert.That(invite, Is.EqualTo(new InviteArguments("ops", TimeSpan.FromHours(24))));
        Assert.That(InviteArguments.Parse("dev --ttl 30m", "ops", out _), Is.EqualTo(new InviteArguments("dev", TimeSpan.FromMinutes(30))));
        Assert.That(InviteArguments.Parse("--ttl=7d", "ops", out _), Is.EqualTo(new InviteArguments("ops", TimeSpan.FromDays(7))));
        Assert.That(InviteArguments.Parse("--ttl 90s dev", null, out _), Is.EqualTo(new InviteArguments("dev", TimeSpan.FromSeconds(90))));
    }

    [TestCase("--ttl 31d", "ops", "--ttl '31d': give a whole number with s, m, h or d, from 1m to 30d")]
    [TestCase("--ttl 30s", "ops", "from 1m to 30d")]
    [TestCase("--ttl soon", "ops", "--ttl 'soon'")]
    [TestCase("--ttl", "ops", "--ttl needs a duration after it")]
    [TestCase("ops dev", "ops", "one group at a time")]
    [TestCase("--for 1h", "ops", "no option '--for'")]
    [TestCase(null, null, "not in a group: name the group to invite to")]
    [TestCase("bad/name", "ops", "invalid group name")]
    public void A_wrong_invite_is_one_line_with_its_usage(string? argument, string? current, string problem)
    {
        Assert.That(InviteArguments.Parse(argument, current, out var error), Is.Null);
        Assert.That(error, Does.StartWith("/invite: ").And.Contain(problem).And.EndWith("(usage: /invite [G] [--ttl D])"));
    }

    [Test]
    public void Accept_reads_the_group_from_the_code()
    {
        using var invite = Invite.Create(Genesis, "secret");
        var accept = JoinArguments.ParseAccept(invite.Code, out var error);
        Assert.That(error, Is.Empty);
        Assert.That((accept!.Group, accept.Request.Invite, accept.Request.Private, accept.Confirm), Is.EqualTo(("secret", invite.Code, false, false)));
        Assert.That(JoinArguments.ParseAccept($"secret {invite.Code}", out _)!.Group, Is.EqualTo("secret"));
        Assert.That(JoinArguments.ParseAccept($"other {invite.Code}", out error), Is.Null);
        Assert.That(error, Does.Contain("the code is for group 'secret', not 'other'"));
    }

    [Test]
    public void Accept_of_an_older_code_asks_for_the_group_and_takes_it_beside_the_code()
    {
        using var old = Invite.Create(Genesis);
        Assert.That(JoinArguments.ParseAccept(old.Code, out var error), Is.Null);
        Assert.That(error, Is.EqualTo("/accept: this code is of an older form that does not name its group: type /accept G CODE with the group it is for (usage: /accept CODE)"));
        Assert.That(JoinArguments.ParseAccept($"secret {old.Code}", out _)!.Group, Is.EqualTo("secret"));
    }

    [TestCase(null, "give the invite code")]
    [TestCase("a b c", "give the invite code alone")]
    [TestCase("not-a-code", "not an invite code")]
    public void A_wrong_accept_is_one_line_with_its_usage(string? argument, string problem)
    {
        Assert.That(JoinArguments.ParseAccept(argument, out var error), Is.Null);
        Assert.That(error, Does.StartWith("/accept: ").And.Contain(problem).And.EndWith("(usage: /accept CODE)"));
    }

    [Test]
    public void An_over_long_pasted_code_is_one_short_error()
    {
        var pasted = "mesh3." + new string('A', 1_000_000);
        Assert.That(JoinArguments.ParseAccept(pasted, out var error), Is.Null);
        Assert.That(error.Length, Is.LessThan(250));
        Assert.That(LineCommand.Parse(pasted).Kind, Is.EqualTo(LineCommand.Kinds.Accept), "still never a message");
    }

    [Test]
    public void A_line_that_is_only_a_code_is_an_accept_never_a_message()
    {
        using var invite = Invite.Create(Genesis, "secret");
        var line = LineCommand.Parse("  " + invite.Code + " ");
        Assert.That((line.Kind, line.Argument, line.Text), Is.EqualTo((LineCommand.Kinds.Accept, invite.Code, "/accept")));
        Assert.That(LineCommand.Parse("/accept " + invite.Code).Kind, Is.EqualTo(LineCommand.Kinds.Accept));
        Assert.That(LineCommand.Parse("//" + invite.Code).Kind, Is.EqualTo(LineCommand.Kinds.Message), "a leading // says it is a message");
        Assert.That(LineCommand.Parse("/invite --ttl 1h").Kind, Is.EqualTo(LineCommand.Kinds.Invite));
    }
}
