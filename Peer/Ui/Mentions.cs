namespace Mesh.Peer.Ui;

/// <summary>Where a text names someone: the name as a whole word, any case, with or without a leading <c>@</c>
/// (<c>@amy</c>, <c>Amy:</c>, <c>thanks amy.</c>; not <c>amyra</c> or <c>tamy</c>).</summary>
public static class Mentions
{
    /// <summary>The ranges of <paramref name="text"/> that name <paramref name="name"/>, in order.</summary>
    public static List<(int Start, int Length)> Find(string text, string name)
    {
        var found = new List<(int, int)>();
        if (name.Length == 0)
        {
            return found;
        }

        for (var at = text.IndexOf(name, StringComparison.OrdinalIgnoreCase); at >= 0 && found.Count < 64;
             at = text.IndexOf(name, at + name.Length, StringComparison.OrdinalIgnoreCase))
        {
            var end = at + name.Length;
            if ((at > 0 && IsNameChar(text, at - 1, -1)) || (end < text.Length && IsNameChar(text, end, +1)))
            {
                continue;
            }

            var start = at > 0 && text[at - 1] == '@' ? at - 1 : at;
            found.Add((start, end - start));
        }

        return found;
    }

    public static bool Names(string text, string name) => Find(text, name).Count > 0;

    /// <summary>A character that continues a name: letters, digits, '_', and '.' or '-' with more of a name beyond
    /// them (<paramref name="away"/> is the direction away from the match: a full stop ending a sentence ends a name).</summary>
    private static bool IsNameChar(string text, int i, int away)
    {
        var c = text[i];
        if (char.IsLetterOrDigit(c) || c == '_')
        {
            return true;
        }

        var beyond = i + away;
        return (c == '.' || c == '-') && beyond >= 0 && beyond < text.Length && char.IsLetterOrDigit(text[beyond]);
    }
}
