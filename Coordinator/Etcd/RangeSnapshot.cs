namespace Mesh.Coordinator.Etcd;

/// <summary>A whole range as <see cref="BoundedRange.ReadAllAsync"/> or <see cref="BoundedRange.ReadLatestAsync"/> read it.</summary>
/// <param name="Kvs">The keys and values, in key order.</param>
/// <param name="Revision">The revision the keys are as of: the one every page was read at, or, after a compaction, the
/// one what was written since was read again at.</param>
/// <param name="ValuesLeftOut">How many values were too large to hand over (they come back empty).</param>
public sealed record RangeSnapshot(IReadOnlyList<Mvccpb.KeyValue> Kvs, long Revision, int ValuesLeftOut);
