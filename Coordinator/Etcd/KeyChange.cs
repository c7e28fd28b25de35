namespace Mesh.Coordinator.Etcd;

/// <summary>One change under a watched prefix: a put (with its value) or a delete. <paramref name="Version"/> is
/// etcd's count of puts to the key since it was created (1 for a creation; 0 when not known).</summary>
public sealed record KeyChange(string Key, bool IsDelete, byte[] Value, long ModRevision, long Lease, long Version = 0);
