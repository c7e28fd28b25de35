using Mesh.Coordinator.History;

namespace Mesh.Peer.Home;

/// <summary>What a previous run left in the outbox: the records to write, oldest first, and how many stretches of
/// damage were skipped (each lost at least one record), with where copies of the damaged segments are kept.</summary>
public sealed record OutboxRecovery(IReadOnlyList<HistoryEntry> Entries, long Damaged, string DamagedDirectory);
