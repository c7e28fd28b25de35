namespace Mesh.Coordinator.History;

/// <summary>One stored message of a group: its key under the group's history prefix and its opaque envelope.</summary>
/// <param name="Group">The group the message belongs to.</param>
/// <param name="Name">The key below the group's history prefix; history sorts by it.</param>
/// <param name="Value">The serialized envelope, as sent.</param>
public sealed record HistoryEntry(string Group, string Name, byte[] Value)
{
    /// <summary>The etcd revision it was written at, when read from etcd (0 otherwise; not stored on disk).</summary>
    public long Revision { get; init; }
}
