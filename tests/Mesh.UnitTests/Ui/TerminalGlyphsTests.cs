using Mesh.Peer.Ui;
using Terminal.Gui.Text;

namespace Mesh.UnitTests.Ui;

[Category("Unit")]
public sealed class TerminalGlyphsTests
{
    [TestCase("\U0001F468\u200D\U0001F469\u200D\U0001F467", "\U0001F468\U0001F469\U0001F467", 6)]
    [TestCase("\U0001F44B\U0001F3FD", "\U0001F44B", 2)]
    [TestCase("\u2764\uFE0F", "\u2764", 1)]
    [TestCase("\U0001F1E9\U0001F1EA", "\U0001F1E9\U0001F1EA", 2)]
    [TestCase("\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", "\U0001F3F4", 2)]
    [TestCase("e\u0301", "e\u0301", 1)]
    [TestCase("\u0007", "\uFFFD", 1)]
    public void Disputed_parts_are_dropped_so_the_width_counted_is_the_width_drawn(string element, string shown, int columns)
    {
        Assert.That(TerminalGlyphs.Displayable(element), Is.EqualTo(shown));
        Assert.That(TerminalGlyphs.Displayable(element).GetColumns(), Is.EqualTo(columns));
    }
}
