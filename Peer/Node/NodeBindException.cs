namespace Mesh.Peer.Node;

/// <summary>The PUB socket could not listen where it was told to (address in use, not local, malformed).</summary>
public sealed class NodeBindException(string message, Exception inner) : Exception(message, inner);
