namespace Mesh.Peer.Groups;

/// <summary>Who among the online members acts first on a change that any of them could commit (admitting a joiner,
/// starting the epoch after a leave): the one with the lowest peer id at once, the next after a pause, and so on, so
/// that one usually does it and another steps in when the first is gone. The log's create-only index settles races.</summary>
public static class CommitRank
{
    public static readonly TimeSpan Step = TimeSpan.FromSeconds(2);

    /// <summary>How long <paramref name="self"/> waits before it acts, given the online members (itself included).</summary>
    public static TimeSpan DelayOf(string self, IEnumerable<string> online)
    {
        var rank = online.Append(self).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList().IndexOf(self);
        return Step * Math.Min(rank, 30);
    }
}
