namespace Mesh.Coordinator.Etcd;

/// <summary>etcd did not answer: the message names the endpoints that were tried.</summary>
public sealed class EtcdUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
