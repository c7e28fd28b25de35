namespace Mesh.Peer.Node;

/// <summary>What the node should be subscribed to at one member: where it publishes, its key, and which groups.</summary>
public sealed record LinkSpec(string PeerId, string Endpoint, byte[] ServerKey, IReadOnlySet<string> Groups);
