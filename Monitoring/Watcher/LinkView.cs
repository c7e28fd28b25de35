namespace Mesh.Monitoring.Watcher;

/// <summary>One link of a peer, as the peer reported it: <c>up</c> or <c>down</c>, and for an up link its round trip
/// on the heartbeats when measured.</summary>
public sealed record LinkView(string Peer, string Name, string State, double? RttMs = null);
