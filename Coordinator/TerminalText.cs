using System.Text;

namespace Mesh.Coordinator;

/// <summary>Makes text from other peers (message texts, names, reasons) safe to print on a terminal or a page.</summary>
/// <remarks>
/// A terminal obeys control characters: an escape sequence in a message could move the cursor, rewrite earlier lines,
/// change the window title or fake a line from someone else. Every C0 and C1 control, DEL, and the bidirectional
/// overrides and isolates (which reorder what is shown) become U+FFFD; a line break in a message stays a line break
/// but is followed by an indent, so that it cannot pass for a line of its own.
/// </remarks>
public static class TerminalText
{
    public const char Replacement = '\uFFFD';

    /// <summary>The text, with line breaks kept and indented by <paramref name="continuation"/>.</summary>
    public static string Safe(string text, string continuation = "    ")
    {
        if (IsClean(text))
        {
            return text;
        }

        var clean = new StringBuilder(text.Length + 8);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                continue;
            }

            if (c is '\n' or '\r')
            {
                clean.Append('\n').Append(continuation);
            }
            else if (c == '\t')
            {
                clean.Append("    ");
            }
            else
            {
                clean.Append(IsUnsafe(c) ? Replacement : c);
            }
        }

        return clean.ToString();
    }

    /// <summary>The text on one line: line breaks and tabs become spaces, other controls U+FFFD.</summary>
    public static string OneLine(string text)
    {
        if (IsClean(text))
        {
            return text;
        }

        var clean = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            clean.Append(c is '\n' or '\r' or '\t' ? ' ' : IsUnsafe(c) ? Replacement : c);
        }

        return clean.ToString();
    }

    private static bool IsClean(string text)
    {
        foreach (var c in text)
        {
            if (IsUnsafe(c) || c is '\n' or '\r' or '\t')
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsUnsafe(char c) =>
        c < 0x20 || c is >= '\u007F' and <= '\u009F' || c is >= '\u202A' and <= '\u202E' || c is >= '\u2066' and <= '\u2069'
        || c is '\u200E' or '\u200F' or '\u061C';
}
