using Mesh.Peer.Session;

namespace Mesh.UnitTests.Session;

[Category("Unit")]
public sealed class LineCommandTests
{
    [TestCase("hello", LineCommand.Kinds.Message, null, "hello")]
    [TestCase("//etc/passwd is a path", LineCommand.Kinds.Message, null, "/etc/passwd is a path")]
    [TestCase("   ", LineCommand.Kinds.Empty, null, "   ")]
    [TestCase("/join ops", LineCommand.Kinds.Join, "ops", "/join")]
    [TestCase("/join   ops  ", LineCommand.Kinds.Join, "ops", "/join")]
    [TestCase("/leave", LineCommand.Kinds.Leave, null, "/leave")]
    [TestCase("/switch dev", LineCommand.Kinds.Switch, "dev", "/switch")]
    [TestCase("/remove bo the elder", LineCommand.Kinds.Remove, "bo the elder", "/remove")]
    [TestCase("/admin amy", LineCommand.Kinds.Admin, "amy", "/admin")]
    [TestCase("/members", LineCommand.Kinds.Members, null, "/members")]
    [TestCase("/help", LineCommand.Kinds.Help, null, "/help")]
    [TestCase("/quit", LineCommand.Kinds.Quit, null, "/quit")]
    [TestCase("/frobnicate now", LineCommand.Kinds.Unknown, "now", "/frobnicate")]
    [TestCase("/JOIN ops", LineCommand.Kinds.Unknown, "ops", "/JOIN")]
    public void A_line_parses_to_what_it_asks_for(string line, LineCommand.Kinds kind, string? argument, string text)
    {
        var command = LineCommand.Parse(line);
        Assert.That(command.Kind, Is.EqualTo(kind));
        Assert.That(command.Argument, Is.EqualTo(argument));
        Assert.That(command.Text, Is.EqualTo(text));
    }

    [Test]
    public void The_unknown_command_error_lists_every_command_help_lists()
    {
        var error = LineCommand.Parse("/nope").UnknownError;
        Assert.That(error, Does.StartWith("unknown command '/nope'"));
        foreach (var kind in Enum.GetValues<LineCommand.Kinds>().Where(k => k is not (LineCommand.Kinds.Empty or LineCommand.Kinds.Message or LineCommand.Kinds.Unknown)))
        {
            Assert.That(error, Does.Contain("/" + kind.ToString().ToLowerInvariant()), kind.ToString());
        }

        foreach (var entry in LineCommand.Table)
        {
            Assert.That(Mesh.Peer.Ui.ChatWindow.Help, Does.Contain(entry.Usage), entry.Word);
        }
    }

    [Test]
    public void A_known_command_without_what_it_needs_is_told_its_usage()
    {
        Assert.That(LineCommand.Parse("/me").UnknownError, Is.EqualTo("/me needs more: /me TEXT (say what you do: * amy TEXT)"));
        Assert.That(LineCommand.Parse("/me   ").UnknownError, Does.StartWith("/me needs more"));
    }

    [TestCase("remove", "/remove NAME: remove a member (creator and admins)")]
    [TestCase("/me", "/me TEXT: say what you do: * amy TEXT")]
    [TestCase("/help", "/help [CMD]: list keys and commands, or say what one command does")]
    public void Help_for_one_command_says_its_usage_and_what_it_does(string asked, string said)
    {
        var command = LineCommand.Parse("/help " + asked);
        Assert.That(command.Kind, Is.EqualTo(LineCommand.Kinds.Help));
        Assert.That(LineCommand.HelpFor(command.Argument!), Is.EqualTo(said));
    }

    [Test]
    public void Help_for_a_command_that_does_not_exist_says_so_and_lists_them() =>
        Assert.That(LineCommand.HelpFor("/nope"), Does.StartWith("no command '/nope': commands are /join G"));

    [Test]
    public void A_command_name_with_terminal_escapes_is_printed_harmlessly() =>
        Assert.That(LineCommand.Parse("/\u001b[2Jx").UnknownError, Does.Not.Contain("\u001b"));
}
