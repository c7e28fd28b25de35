namespace Mesh.Peer.Session;

/// <summary>The words after a command, split on white space, with at most <see cref="MaxWords"/> of them: a pasted
/// page after <c>/join</c> is one short error, not a long parse.</summary>
internal static class CommandWords
{
    public const int MaxWords = 8;

    /// <summary>The words of <paramref name="argument"/> (none when it is null), or null when there are too many.</summary>
    public static string[]? Split(string? argument)
    {
        var words = (argument ?? "").Split((char[]?)null, MaxWords + 1, StringSplitOptions.RemoveEmptyEntries);
        return words.Length > MaxWords ? null : words;
    }
}
