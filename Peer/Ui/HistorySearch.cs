namespace Mesh.Peer.Ui;

/// <summary>Finding a text among a group's messages (all of its history the screen holds: every message, not only
/// those on screen): any case, in the text or the sender's name; Mesh's own lines are not searched.</summary>
public static class HistorySearch
{
    public static bool Matches(ChatLine line, string query) =>
        line.Kind != ChatLineKind.System && query.Length > 0 &&
        (line.Shown.Contains(query, StringComparison.OrdinalIgnoreCase) || (line.From ?? "").Contains(query, StringComparison.OrdinalIgnoreCase));

    /// <summary>The newest match before <paramref name="before"/>, or -1.</summary>
    public static int Older(IReadOnlyList<ChatLine> lines, string query, int before)
    {
        for (var i = Math.Min(before, lines.Count) - 1; i >= 0; i--)
        {
            if (Matches(lines[i], query))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The oldest match after <paramref name="after"/>, or -1.</summary>
    public static int Newer(IReadOnlyList<ChatLine> lines, string query, int after)
    {
        for (var i = Math.Max(after + 1, 0); i < lines.Count; i++)
        {
            if (Matches(lines[i], query))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>How many lines match, and which of them <paramref name="index"/> is counting from the oldest (1-based).</summary>
    public static (int Count, int Ordinal) Count(IReadOnlyList<ChatLine> lines, string query, int index)
    {
        var count = 0;
        var ordinal = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            if (Matches(lines[i], query))
            {
                count++;
                if (i <= index)
                {
                    ordinal = count;
                }
            }
        }

        return (count, ordinal);
    }
}
