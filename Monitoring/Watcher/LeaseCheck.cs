namespace Mesh.Monitoring.Watcher;

/// <summary>A question the view asks of etcd before it says a peer's lease expired: does <paramref name="Lease"/>, the
/// lease <paramref name="Peer"/>'s presence record lived under until it was deleted, still live?</summary>
public sealed record LeaseCheck(string Peer, long Lease);
