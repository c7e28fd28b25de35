using System.Text;

namespace Mesh.Peer.Ui;

/// <summary>Text elements in a form every terminal draws at the width Mesh counts. Terminals disagree on the width of
/// joined emoji: tmux and xterm draw a ZWJ family as its three people (6 columns), others as one (2), and a skin
/// tone as its own emoji or not at all. A row that a terminal draws wider than counted pushes the borders out of
/// place, so the parts that are drawn differently are dropped: ZWJ joiners (the people stay, side by side), skin
/// tone modifiers, variation selectors and tag characters. Flags (two regional indicators) are 2 columns either
/// way and stay.</summary>
public static class TerminalGlyphs
{
    /// <summary>What to draw for one text element: itself, unless it holds characters drawn at disputed widths;
    /// control characters as a visible placeholder (they would move the cursor), a tab as four spaces.</summary>
    public static string Displayable(string element)
    {
        if (element.Length == 1 && char.IsControl(element[0]))
        {
            return element[0] == '\t' ? "    " : "\uFFFD";
        }

        if (element.Length == 1)
        {
            return element;
        }

        StringBuilder? kept = null;
        var index = 0;
        foreach (var rune in element.EnumerateRunes())
        {
            if (Disputed(rune.Value))
            {
                kept ??= new StringBuilder(element, 0, index, element.Length);
            }
            else
            {
                kept?.Append(rune.ToString());
            }

            index += rune.Utf16SequenceLength;
        }

        return kept?.ToString() ?? element;
    }

    private static bool Disputed(int c) =>
        c == 0x200D // zero width joiner
        || c is 0xFE0E or 0xFE0F // text and emoji presentation selectors
        || c is >= 0x1F3FB and <= 0x1F3FF // skin tone modifiers
        || c is >= 0xE0020 and <= 0xE007F; // tag characters (subdivision flags)
}
