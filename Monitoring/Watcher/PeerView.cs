namespace Mesh.Monitoring.Watcher;

/// <summary>A peer online, with its groups and the links it reports.</summary>
public sealed record PeerView(string Id, string Name, string Endpoint, long Since, IReadOnlyList<string> Groups, IReadOnlyList<LinkView> Links);
