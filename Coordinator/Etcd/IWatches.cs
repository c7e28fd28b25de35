namespace Mesh.Coordinator.Etcd;

/// <summary>Follows key prefixes from a revision: the port through which the session sees etcd change (etcd, or an
/// in-memory twin in tests; both pass the same contract tests).</summary>
public interface IWatches
{
    /// <summary>Starts following every change to a key that starts with <paramref name="prefix"/>, from
    /// <paramref name="fromRevision"/> on. Changes reach <paramref name="onChanges"/> in revision order, one call at a
    /// time (each awaited before the next), the changes of one revision in one call. When the revisions wanted were
    /// compacted away, <paramref name="onCompacted"/> is told the oldest one kept and the watch goes on from it.</summary>
    /// <returns>The running watch; disposing it stops it.</returns>
    IAsyncDisposable Start(string prefix, long fromRevision, Func<IReadOnlyList<KeyChange>, ValueTask> onChanges, Func<long, ValueTask>? onCompacted = null);
}
