namespace Mesh.Coordinator.Etcd;

/// <summary>A whole range as <see cref="BoundedRange.ReadAllAsync"/> read it.</summary>
/// <param name="Kvs">The keys and values, in key order.</param>
/// <param name="Revision">The revision every page was read at.</param>
/// <param name="ValuesLeftOut">How many values were too large to hand over (they come back empty).</param>
public sealed record RangeSnapshot(IReadOnlyList<Mvccpb.KeyValue> Kvs, long Revision, int ValuesLeftOut);
