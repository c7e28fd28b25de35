namespace Mesh.Coordinator.History;

/// <summary>A group's local history copy as loaded: its entries in key order, the revision and cluster it is complete
/// up to (revision 0: read everything from etcd), and how many stretches of damage were skipped.</summary>
public sealed record LocalCopy(IReadOnlyList<HistoryEntry> Entries, long Revision, string Cluster, long Damaged);
