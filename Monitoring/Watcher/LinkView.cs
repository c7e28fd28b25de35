namespace Mesh.Monitoring.Watcher;

/// <summary>One link of a peer, as the peer reported it: <c>up</c> or <c>down</c>.</summary>
public sealed record LinkView(string Peer, string Name, string State);
