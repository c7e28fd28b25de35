namespace Mesh.Coordinator.Etcd;

/// <summary>How a range read by <see cref="BoundedRange.ReadOnwardAsync"/> went.</summary>
/// <param name="Revision">The revision its last page was read at.</param>
/// <param name="FirstCompacted">0 when every page was read at one revision. Otherwise the revision the read was at when
/// it first met a compaction: the keys handed over before that point are as of it, and what was written there since
/// was not read.</param>
public sealed record OnwardRead(long Revision, long FirstCompacted);
