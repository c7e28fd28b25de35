namespace Mesh.Peer.Groups;

/// <summary>One key epoch of a group: the key's check, and the log indexes where it began and (if it did) ended.</summary>
/// <param name="Number">1 for the genesis key, then one more at each rotation.</param>
/// <param name="KeyCheck">The check of the epoch's key, as committed in the log.</param>
/// <param name="StartIndex">The log entry that began it.</param>
/// <param name="EndIndex">The log entry that began its successor; <see cref="long.MaxValue"/> while it is current.</param>
/// <param name="EndAtMs">The time the successor's author gave its entry.</param>
public sealed record KeyEpoch(long Number, string KeyCheck, long StartIndex, long EndIndex = long.MaxValue, long EndAtMs = long.MaxValue);
