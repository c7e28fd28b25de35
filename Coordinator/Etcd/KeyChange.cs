namespace Mesh.Coordinator.Etcd;

/// <summary>One change under a watched prefix: a put (with its value) or a delete.</summary>
public sealed record KeyChange(string Key, bool IsDelete, byte[] Value, long ModRevision, long Lease);
