namespace Mesh.Peer.Groups;

/// <summary>What following a group log's changes came to: entries applied (in index order), entries to put back in
/// etcd from this peer's copy, and one line for each thing refused or found altered.</summary>
public sealed record LogStep(IReadOnlyList<LogEntry> Applied, IReadOnlyList<long> Repairs, IReadOnlyList<string> Errors)
{
    public static readonly LogStep Nothing = new([], [], []);
}
