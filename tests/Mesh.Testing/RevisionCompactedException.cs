namespace Mesh.Testing;

/// <summary>A read of <see cref="InMemoryEtcd"/> at a revision compacted away, as etcd refuses it.</summary>
public sealed class RevisionCompactedException(long revision, long compacted)
    : Exception($"mvcc: required revision {revision} has been compacted (up to {compacted})")
{
    /// <summary>The oldest revision still kept.</summary>
    public long Compacted { get; } = compacted;
}
