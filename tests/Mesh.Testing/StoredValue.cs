namespace Mesh.Testing;

/// <summary>A key as <see cref="InMemoryEtcd"/> holds it at one revision, with what etcd keeps beside its value.</summary>
/// <param name="Key">The key.</param>
/// <param name="Value">Its value.</param>
/// <param name="CreateRevision">The revision that created it (since it last did not exist).</param>
/// <param name="ModRevision">The revision that last wrote it.</param>
/// <param name="Version">Puts since it was created (1 for a creation).</param>
/// <param name="Lease">The lease it lives under (0: none).</param>
public sealed record StoredValue(string Key, byte[] Value, long CreateRevision, long ModRevision, long Version, long Lease);
