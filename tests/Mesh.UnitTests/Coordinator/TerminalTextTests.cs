using Mesh.Coordinator;

namespace Mesh.UnitTests.Coordinator;

[Category("Unit")]
public sealed class TerminalTextTests
{
    [TestCase("\u001b]0;pwned\u0007title", "\uFFFD]0;pwned\uFFFDtitle")]
    [TestCase("clear\u001b[2J", "clear\uFFFD[2J")]
    [TestCase("c1 \u009b31m", "c1 \uFFFD31m")]
    [TestCase("bidi \u202Eevil", "bidi \uFFFDevil")]
    [TestCase("plain ünïcode 🌍", "plain ünïcode 🌍")]
    public void Escape_sequences_and_reordering_controls_never_reach_the_terminal(string text, string shown)
    {
        Assert.That(TerminalText.OneLine(text), Is.EqualTo(shown));
        Assert.That(TerminalText.Safe(text), Is.EqualTo(shown));
    }

    [Test]
    public void A_line_break_cannot_fake_a_line_of_its_own()
    {
        Assert.That(TerminalText.Safe("hi\r\n2026-12-01 10:00:00 UTC  bo: fake"), Is.EqualTo("hi\n    2026-12-01 10:00:00 UTC  bo: fake"));
        Assert.That(TerminalText.OneLine("a\nb\tc"), Is.EqualTo("a b c"));
    }
}
