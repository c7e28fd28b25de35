namespace Mesh.Coordinator.Groups;

/// <summary>One try at writing a group log entry (and entries chained after it) at its index, with the keys that go
/// with it in the same transaction.</summary>
/// <param name="Group">The group.</param>
/// <param name="Index">The entry's index.</param>
/// <param name="Record">The signed entry.</param>
/// <param name="Alongside">Keys written in the same transaction (key grants), at most <see cref="GroupLogStore.MaxAlongside"/>
/// with <paramref name="Following"/>.</param>
/// <param name="Following">Entries chained after it, each written create-only in the same transaction.</param>
/// <param name="Occupant">The modification revision of what sits at the index as this peer last saw it: 0 for nothing (the
/// write is create-only), else the revision of a record the log refused (an etcd writer's junk), which is replaced only
/// if it is still that one. A real entry written meanwhile is never overwritten.</param>
public sealed record LogAppend(string Group, long Index, byte[] Record, IReadOnlyList<(string Key, byte[] Value)> Alongside,
    IReadOnlyList<(long Index, byte[] Record)> Following, long Occupant);
