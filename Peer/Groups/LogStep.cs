namespace Mesh.Peer.Groups;

/// <summary>What following a group log's changes came to: entries applied (in index order), entries to put back in
/// etcd from this peer's copy, and one line for each thing refused or found altered.</summary>
public sealed record LogStep(IReadOnlyList<LogEntry> Applied, IReadOnlyList<long> Repairs, IReadOnlyList<string> Errors)
{
    /// <summary>The log was rolled back to the entry before <see cref="SwitchedAt"/> and went on with another valid entry
    /// there (two were signed for one index, and every member follows the one with the lower hash): what the peer built
    /// on the log must be checked again, and etcd's entries after it read again.</summary>
    public long? SwitchedAt { get; init; }

    public static readonly LogStep Nothing = new([], [], []);
}
