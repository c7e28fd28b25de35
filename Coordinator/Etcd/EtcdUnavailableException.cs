namespace Mesh.Coordinator.Etcd;

/// <summary>etcd did not answer: the message names the endpoints that were tried.</summary>
public sealed class EtcdUnavailableException(string message, Exception? inner = null, bool noSpace = false) : Exception(message, inner)
{
    /// <summary>etcd answered, and refused the write: its database reached its quota (the NOSPACE alarm). Reads and
    /// deletes still work; writes do after an operator compacts, defragments and disarms it.</summary>
    public bool NoSpace { get; } = noSpace;
}
